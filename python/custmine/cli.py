"""The ``custmine`` command.

``custmine demo [--out DIR]`` runs the precision-marketing report on the data that ships
with the package: every model family contributes a section (its ``demo_report``), the
report is printed and written with its charts to DIR.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

# Report sections in reading order: (module, title used when the section fails).
SECTIONS = [
    ("tiering", "Customer tiering"),
    ("value", "Retention and customer value"),
    ("clv", "Customer lifetime value"),
    ("association", "Cross-selling"),
    ("classification", "Response model"),
    ("regression", "Spend prediction"),
    ("tree", "Tier rules"),
    ("anomaly", "Irregular records"),
]


def _section_modules():
    for name, title in SECTIONS:
        try:
            module = importlib.import_module(f"custmine.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"custmine.{name}":
                continue  # family not part of this build
            raise
        if hasattr(module, "demo_report"):
            yield name, title, module.demo_report


def demo(out_dir: Path, quiet: bool = False) -> int:
    import matplotlib

    matplotlib.use("Agg")  # the demo writes PNG files; never open windows
    out_dir.mkdir(parents=True, exist_ok=True)
    parts = ["# custmine precision-marketing report", "",
             "Computed on the data bundled with custmine (see custmine/datasets/SOURCES.md).", ""]
    failed = []
    for name, title, fn in _section_modules():
        t0 = time.perf_counter()
        try:
            text = fn(out_dir)
        except Exception:  # a failing section is reported, the others still run
            failed.append(name)
            text = f"## {title}\n\nThis section failed:\n\n```\n{traceback.format_exc()}```"
        parts += [text.rstrip(), "", f"_({name}: {time.perf_counter() - t0:.1f} s)_", ""]
    report = "\n".join(parts)
    (out_dir / "report.md").write_text(report, encoding="utf-8")
    if not quiet:
        print(report)
    print(f"\nReport written to {out_dir / 'report.md'} (charts beside it).", file=sys.stderr)
    if failed:
        print(f"custmine demo: section(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="custmine", description="Customer mining for precision marketing.")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="run the precision-marketing report on the bundled data")
    d.add_argument("--out", type=Path, default=Path("custmine-demo"), help="folder for report.md and charts")
    d.add_argument("--quiet", action="store_true", help="write the report without printing it")
    sub.add_parser("version", help="print the version")
    args = parser.parse_args(argv)
    if args.command == "version":
        from . import __version__

        print(__version__)
        return 0
    return demo(args.out, quiet=args.quiet)


if __name__ == "__main__":
    sys.exit(main())
