#!/usr/bin/env python3
"""Copies the botocore service models listed in models/botocore/services.txt into
models/botocore/, stripped to what `cargo run -p xtask -- codegen` reads: the protocol and its
names, each operation's input shape (and HTTP route), and the shapes reachable from inputs
with their constraints (a structure's members as a list of {"name": ..., "shape": ...} in the
model's order). Documentation, outputs, errors and examples are dropped.

Usage: scripts/vendor-models.py [BOTOCORE_DATA_DIR]   (default: the installed botocore's)
"""
import gzip
import json
import os
import sys

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "botocore")
METADATA = ["apiVersion", "protocol", "jsonVersion", "targetPrefix", "xmlNamespace", "signingName",
            "endpointPrefix", "serviceId"]
SHAPE_KEYS = ["type", "required", "min", "max", "pattern", "enum", "sensitive", "box", "flattened",
              "locationName"]
MEMBER_KEYS = ["shape", "location", "locationName", "flattened", "idempotencyToken"]


def data_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    import botocore
    return os.path.join(os.path.dirname(botocore.__file__), "data")


def load(path):
    for name in ("service-2.json", "service-2.json.gz"):
        full = os.path.join(path, name)
        if os.path.exists(full):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(full, "rt", encoding="utf-8") as f:
                return json.load(f)
    raise SystemExit(f"no service-2.json under {path}")


def strip(model):
    shapes = model["shapes"]
    kept = {}

    def keep(name):
        if name in kept:
            return
        shape = shapes[name]
        out = {k: shape[k] for k in SHAPE_KEYS if k in shape}
        kept[name] = out
        if "members" in shape:
            # A list, in the model's order: AWS reports violations in that order, and JSON
            # readers (serde_json's map) need not keep an object's order.
            out["members"] = [dict(name=m, **{k: v for k, v in spec.items() if k in MEMBER_KEYS})
                              for m, spec in shape["members"].items()]
            for spec in shape["members"].values():
                keep(spec["shape"])
        for part in ("member", "key", "value"):
            if part in shape:
                out[part] = {k: v for k, v in shape[part].items() if k in MEMBER_KEYS}
                keep(shape[part]["shape"])

    operations = {}
    for name, op in sorted(model["operations"].items()):
        entry = {}
        if "input" in op:
            entry["input"] = op["input"]["shape"]
            keep(op["input"]["shape"])
        if model["metadata"]["protocol"] in ("rest-json", "rest-xml"):
            entry["http"] = {k: op["http"][k] for k in ("method", "requestUri") if k in op["http"]}
        operations[name] = entry
    metadata = {k: model["metadata"][k] for k in METADATA if k in model["metadata"]}
    return {"metadata": metadata, "operations": operations,
            "shapes": {name: kept[name] for name in sorted(kept)}}


def main():
    import botocore
    source = data_dir()
    listed = []
    with open(os.path.join(HERE, "services.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                listed.append(line)
    for entry in listed:
        service, version = entry.split("/")
        stripped = strip(load(os.path.join(source, service, version)))
        target = os.path.join(HERE, f"{service}-{version}.json")
        with open(target, "w", encoding="utf-8") as f:
            json.dump(stripped, f, indent=1, sort_keys=True, ensure_ascii=False)
            f.write("\n")
        print(f"{target}: {len(stripped['operations'])} operations, {len(stripped['shapes'])} shapes")
    with open(os.path.join(HERE, "VERSION"), "w", encoding="utf-8") as f:
        f.write(f"botocore {botocore.__version__}\n")


if __name__ == "__main__":
    main()
