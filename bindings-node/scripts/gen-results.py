#!/usr/bin/env python3
"""Writes bindings-node/src/analytics/results.rs: the TypeScript declarations of the
analytics results, one `#[napi(object)]` per serialisable result struct of
journey-core/src/analytics/*.rs, with the core's field names (snake_case, as serde writes
them) and doc comments.

The results reach JavaScript as the core's serde JSON; these structs only declare their
types (napi generates index.d.ts from them). They also derive `Deserialize` with
`deny_unknown_fields`, and the binding's unit test deserialises every real result into
them, so a field added to, renamed in or removed from the core fails `cargo test` until
this script is run again:

    python3 bindings-node/scripts/gen-results.py
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "journey-core/src/analytics"
OUT = ROOT / "bindings-node/src/analytics/results.rs"
FILES = ["stitch", "reach", "funnel", "breakdown", "transitions", "paths", "emotion", "persona",
         "gray_areas", "conformance", "key_moments", "hypothesis", "report"]

# Core struct -> JavaScript name (option echoes are "...Settings": what a result was
# computed with; the names taken by the input options stay free).
RENAME = {
    "StitchOptionsEcho": "StitchSettings", "ReachOptions": "ReachSettings",
    "FunnelOptionsEcho": "FunnelSettings", "FunnelBreakdownOptions": "FunnelBreakdownSettings",
    "TransitionsOptions": "TransitionsSettings", "PathsOptions": "PathsSettings",
    "EmotionOptions": "EmotionSettings", "PersonaOptions": "PersonaSettings",
    "GrayAreasOptions": "GrayAreasSettings", "ConformanceOptions": "ConformanceSettings",
    "KeyMomentsOptionsEcho": "KeyMomentsSettings", "HypothesisOptions": "HypothesisSettings",
    "Group": "KeyMomentGroup", "Change": "GrayAreaChange", "Baseline": "GrayAreaBaseline",
    "Fitness": "ConformanceFitness", "FitnessBucket": "FitnessBucket",
    "Deviations": "ConformanceDeviations", "GrayDimension": "GrayAreaDimension",
    "Report": "AnalyticsReport", "Funnel": "FunnelResult", "Paths": "PathsResult",
    "Reach": "ReachResult", "Transitions": "TransitionsResult", "KeyMoments": "KeyMomentsResult",
    "GrayAreas": "GrayAreasResult", "Conformance": "ConformanceResult",
}
# Enums: their TypeScript type (as serde writes them).
ENUMS = {
    "NameLevel": "'event' | 'touchpoint' | 'phase'",
    "Outcome": "{ touchpoint: string } | { phase: string }",
    "Verdict": "'confirmed' | 'contradicted' | 'not_enough_data'",
    "AssumptionKind": "'emotion' | 'key_moment' | 'channels' | 'owner' | 'phase_order'",
}
NUMBERS = {"usize", "u64", "u32", "u16", "u8", "i64", "i32", "i16", "f64", "Micros"}
SKIP = {"Breakdown"}  # input only
# The results the binding returns.
ROOTS = ["StitchResult", "Reach", "ReachByPersona", "Funnel", "FunnelBreakdown", "Transitions", "Paths",
         "EmotionReport", "EmotionByPersona", "GrayAreas", "Conformance", "KeyMoments", "HypothesisReport", "Report"]


def parse(text):
    """Yields (name, doc lines, [(field, type, doc lines, attrs)]) for Serialize structs."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if re.match(r"#\[derive\(.*Serialize", lines[i].strip()):
            doc = []
            j = i - 1
            while j >= 0 and lines[j].strip().startswith("///"):
                doc.insert(0, lines[j].strip()[3:].strip())
                j -= 1
            k = i + 1
            while lines[k].strip().startswith("#["):
                k += 1
            m = re.match(r"pub struct (\w+) \{", lines[k].strip())
            if not m:
                i = k
                continue
            name = m.group(1)
            fields, fdoc, attrs = [], [], []
            k += 1
            while lines[k].strip() != "}":
                s = lines[k].strip()
                if s.startswith("///"):
                    fdoc.append(s[3:].strip())
                elif s.startswith("#["):
                    attrs.append(s)
                else:
                    fm = re.match(r"pub (\w+): (.+),$", s)
                    if fm:
                        fields.append((fm.group(1), fm.group(2), fdoc, attrs))
                    fdoc, attrs = [], []
                k += 1
            yield name, doc, fields
            i = k
        i += 1


def split_args(s):
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def ts(t):
    """The TypeScript type of a Rust type."""
    t = t.strip().removeprefix("std::collections::")
    if t in NUMBERS:
        return "number"
    if t in ("String", "&'static str"):
        return "string"
    if t == "bool":
        return "boolean"
    if t in ENUMS:
        return ENUMS[t]
    if t.startswith("(") and t.endswith(")"):
        return "[" + ", ".join(ts(x) for x in split_args(t[1:-1])) + "]"
    m = re.match(r"(\w+)<(.+)>$", t)
    if m:
        outer, args = m.group(1), split_args(m.group(2))
        if outer == "Option":
            return f"{ts(args[0])} | null"
        if outer == "Vec":
            inner = ts(args[0])
            return f"Array<{inner}>"
        if outer == "BTreeMap":
            return f"Record<string, {ts(args[1])}>"
    return RENAME.get(t, t)


def rust(t):
    """The Rust type of the declaration (what the drift test deserialises into)."""
    t = t.strip().removeprefix("std::collections::")
    if t in NUMBERS:
        return "f64"
    if t in ("String", "&'static str"):
        return "String"
    if t == "bool":
        return "bool"
    if t in ENUMS or t.startswith("("):
        return "Value"
    m = re.match(r"(\w+)<(.+)>$", t)
    if m:
        outer, args = m.group(1), split_args(m.group(2))
        if outer == "Option":
            return f"Option<{rust(args[0])}>"
        if outer == "Vec":
            return f"Vec<{rust(args[0])}>"
        if outer == "BTreeMap":
            return f"BTreeMap<String, {rust(args[1])}>"
    return "Js" + RENAME.get(t, t)


def main():
    structs = {}
    order = []
    for f in FILES:
        for name, doc, fields in parse((CORE / f"{f}.rs").read_text()):
            if name in SKIP:
                continue
            structs[name] = (doc, fields)
            order.append(name)
    # Only the types reachable from the results the binding returns.
    keep, todo = [], list(ROOTS)
    while todo:
        name = todo.pop(0)
        if name in keep or name not in structs:
            continue
        keep.append(name)
        for _, typ, _, _ in structs[name][1]:
            todo.extend(t for t in re.findall(r"\w+", typ) if t in structs)
    order = [n for n in order if n in keep]
    out = [
        "//! The TypeScript declarations of the analytics results, generated by",
        "//! `bindings-node/scripts/gen-results.py` from journey-core's result structs: do not",
        "//! edit by hand. Results reach JavaScript as the core's serde JSON (snake_case names, as",
        "//! in ANALYTICS.md, the Python binding and the Arrow tables); these structs declare their",
        "//! types, and the unit test below checks them against real results.",
        "#![allow(dead_code, missing_docs)]",
        "",
        "use std::collections::BTreeMap;",
        "",
        "use napi_derive::napi;",
        "use serde::Deserialize;",
        "use serde_json::Value;",
        "",
    ]
    for name in order:
        doc, fields = structs[name]
        js = RENAME.get(name, name)
        flat = []
        for field, typ, fdoc, attrs in fields:
            if any("flatten" in a for a in attrs):
                flat.extend(structs[typ][1])
            else:
                flat.append((field, typ, fdoc, attrs))
        for d in doc or [f"The `{js}` result."]:
            out.append(f"/// {d}".rstrip())
        out.append(f'#[napi(object, js_name = "{js}", object_from_js = false, object_to_js = false)]')
        out.append("#[derive(Debug, Deserialize)]")
        out.append("#[serde(deny_unknown_fields)]")
        out.append(f"pub struct Js{js} {{")
        for field, typ, fdoc, attrs in flat:
            for d in fdoc or [field.replace("_", " ") + "."]:
                out.append(f"    /// {d}".rstrip())
            skipped = any("skip_serializing_if" in a for a in attrs)
            t = ts(typ)
            if skipped:
                t = t.removesuffix(" | null") + " | undefined"
                out.append("    #[serde(default)]")
            jsname = f'js_name = "{field}", ' if "_" in field else ""
            out.append(f'    #[napi({jsname}ts_type = "{t}")]')
            out.append(f"    pub {field}: {rust(typ)},")
        out.append("}")
        out.append("")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(out))
    print(f"wrote {OUT.relative_to(ROOT)}: {len(order)} result types", file=sys.stderr)


if __name__ == "__main__":
    main()
