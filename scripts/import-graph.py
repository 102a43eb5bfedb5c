#!/usr/bin/env python3
"""The module import graph of a crate, read from its sources, and the layering it must keep.

    scripts/import-graph.py crates/server/src          # print the cycles and layer breaks
    scripts/import-graph.py --check crates/server/src  # exit 1 on either (CI runs this)
    scripts/import-graph.py --edges crates/agent/src   # every module's imports

A module's imports are its `use crate::`/`use super::` trees and the `crate::` paths it names,
outside its `#[cfg(test)]` module and comments. The rules checked (see ARCHITECTURE.md):
- no import cycle spans more than one top-level folder (a cycle inside one service's folder
  is that service's business);
- in a crate with a root of services (`services.rs`: the server), no infrastructure module
  (the crate root's files) imports a service, except the IAM domain model that
  authentication and authorization decide with; only the root (`services`, `lib`) does.
"""
import os
import re
import sys

SERVICES = {"iam", "sts", "ssm", "ecs", "ecr", "logs", "cloudtrail", "secretsmanager"}
# The root may name every service; infrastructure may read only these of a service.
ROOT = {"crate", "services"}
IAM_DOMAIN = ("iam::model",)


def expand(prefix, tree):
    """The paths a use tree names: `a::{b, c::{d}}` -> a::b, a::c::d."""
    parts, depth, current = [], 0, ""
    for ch in tree:
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    paths = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        nested = re.match(r"^(.*?)::\{(.*)\}$", part, re.S)
        if nested:
            paths += expand(prefix + [nested.group(1)], nested.group(2))
        elif part.startswith("{") and part.endswith("}"):
            paths += expand(prefix, part[1:-1])
        else:
            paths.append("::".join(prefix + [part.split(" as ")[0].strip()]))
    return paths


def modules(root):
    found = {}
    for directory, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(directory, name)
            module = re.sub(r"/mod$", "", os.path.relpath(path, root)[:-3]).replace("/", "::")
            module = "crate" if module in ("lib", "main") else module
            with open(path, encoding="utf-8") as source:
                text = re.sub(r"//[^\n]*", "", source.read())
            tests = re.search(r"#\[cfg\(test\)\]\s*(pub(\(crate\))?\s+)?mod\s+\w+\s*\{", text)
            if tests:
                text = text[: tests.start()]
            parent = module.rsplit("::", 1)[0] if "::" in module else ""
            refs = set()
            for kind, tree in re.findall(r"\buse\s+(crate|super)::(.*?);", text, re.S):
                base = [] if kind == "crate" else ([parent] if parent else [])
                refs.update(expand(base, tree))
            for path_ in re.findall(r"(?<!use )\bcrate::((?:[a-z_][a-z0-9_]*::)*[a-zA-Z_][a-zA-Z0-9_]*)", text):
                refs.add(path_)
            for path_ in re.findall(r"(?<!use )\bsuper::((?:[a-z_][a-z0-9_]*::)*[a-zA-Z_][a-zA-Z0-9_]*)", text):
                refs.add(f"{parent}::{path_}" if parent else path_)
            found[module] = refs
    return found


def graph(root):
    found = modules(root)

    def resolve(reference):
        parts = [part for part in reference.split("::") if part]
        for k in range(len(parts), 0, -1):
            candidate = "::".join(parts[:k])
            if candidate in found:
                return candidate
        return None

    edges = {module: set() for module in found}
    for module, refs in found.items():
        for reference in refs:
            target = resolve(reference)
            if target and target != module and not module.startswith(target + "::"):
                edges[module].add(target)
    return edges


def cycles(edges):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def top(module):
    return module.split("::")[0]


def main(argv):
    check = "--check" in argv
    show_edges = "--edges" in argv
    roots = [arg for arg in argv if not arg.startswith("--")]
    broken = False
    for root in roots:
        edges = graph(root)
        if show_edges:
            for module in sorted(edges):
                print(f"{module} -> {' '.join(sorted(edges[module]))}")
            continue
        for component in cycles(edges):
            folders = {top(module) for module in component}
            spans = len(folders) > 1
            broken |= spans
            label = "CYCLE ACROSS FOLDERS" if spans else f"cycle inside {folders.pop()}/"
            print(f"{root}: {label}: {' '.join(component)}")
        layered = "services" in edges
        for module in sorted(edges) if layered else []:
            if top(module) in SERVICES or module in ROOT:
                continue
            for target in sorted(edges[module]):
                if top(target) in SERVICES and not target.startswith(IAM_DOMAIN):
                    broken = True
                    print(f"{root}: INFRASTRUCTURE NAMES A SERVICE: {module} -> {target}")
    if check and broken:
        print("the layering in ARCHITECTURE.md is broken (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
