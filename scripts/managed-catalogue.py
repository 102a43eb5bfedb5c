#!/usr/bin/env python3
"""Regenerates managed-policies/catalogue.zlib, the AWS managed policy catalogue the server
ships, from IAM's output as one JSON object a line (`catalogue.jsonl`: name, arn, path,
policyId, defaultVersionId, isAttachable, createDate, updateDate, versionCreateDate,
document).

    python3 scripts/managed-catalogue.py [CATALOGUE_JSONL]   (default ../shared/managed-policies/catalogue.jsonl)

The artefact is the text's length in bytes (4 bytes, little-endian: the reader inflates into
a buffer of exactly that size) then zlib (deflate, level 9) of one UTF-8 text, read by
crates/server/src/iam/model/managed.rs:

    homeport-managed-policies 1
    COUNT
    ARN<TAB>POLICY_ID<TAB>DEFAULT_VERSION<TAB>ATTACHABLE(0|1)<TAB>CREATED<TAB>UPDATED<TAB>VERSION_CREATED<TAB>DOCUMENT_BYTES
    ... (COUNT lines, sorted by ARN; dates in seconds since the epoch)
    DOCUMENTS (each policy's default document, in the lines' order, back to back)

A document is the catalogue's JSON object written with two-space indentation in its own key
order (IAM's original whitespace is not in the catalogue). The output is the same bytes for
the same input.
"""

import json
import struct
import sys
import zlib
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = "homeport-managed-policies 1"


def seconds(text):
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def main():
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/managed-policies/catalogue.jsonl"
    policies = [json.loads(line) for line in source.read_text(encoding="utf-8").split("\n") if line.strip()]
    policies.sort(key=lambda policy: policy["arn"].encode())
    lines, documents = [HEADER, str(len(policies))], []
    for policy in policies:
        if policy["arn"] != f"arn:aws:iam::aws:policy{policy['path']}{policy['name']}":
            sys.exit(f"{policy['arn']}: the ARN is not its path and name")
        document = json.dumps(policy["document"], indent=2, ensure_ascii=False)
        fields = [
            policy["arn"],
            policy["policyId"],
            policy["defaultVersionId"],
            "1" if policy["isAttachable"] else "0",
            str(seconds(policy["createDate"])),
            str(seconds(policy["updateDate"])),
            str(seconds(policy["versionCreateDate"])),
            str(len(document.encode())),
        ]
        if any("\t" in field or "\n" in field for field in fields):
            sys.exit(f"{policy['arn']}: a field holds a tab or a newline")
        lines.append("\t".join(fields))
        documents.append(document)
    text = ("\n".join(lines) + "\n" + "".join(documents)).encode()
    out = ROOT / "managed-policies/catalogue.zlib"
    out.write_bytes(struct.pack("<I", len(text)) + zlib.compress(text, 9))
    print(f"{out.relative_to(ROOT)}: {len(policies)} policies, {len(text)} bytes, {out.stat().st_size} compressed")


if __name__ == "__main__":
    main()
