"""The main job: `custmine demo` writes the report with every family's section and charts."""
import shutil
import subprocess

import pytest

from custmine import cli


def test_demo_writes_every_section(tmp_path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path), "--quiet"]) == 0
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    for heading in ["## Customer tiering", "## Customer retention", "## Customer lifetime value", "## Cross-sell",
                    "## Spend prediction", "## Irregular records"]:
        assert heading in report, heading
    assert "failed" not in report
    sections = [name for name, _, _ in cli._section_modules()]
    assert sections[0] == "tiering" and len(sections) >= 6
    for png in ["tiering.png", "cohort_retention.png", "clv_p_alive.png"]:
        assert (tmp_path / png).stat().st_size > 10_000, png
    assert "Report written to" in capsys.readouterr().err


def test_version_command(capsys):
    assert cli.main(["version"]) == 0
    assert capsys.readouterr().out.strip() == __import__("custmine").__version__


def test_unknown_command_is_a_usage_error():
    with pytest.raises(SystemExit) as exc:
        cli.main(["nonsense"])
    assert exc.value.code == 2


@pytest.mark.skipif(shutil.which("custmine") is None, reason="the custmine console script is not on PATH "
                    "(package not installed with pip)")
def test_console_script_runs(tmp_path):
    out = subprocess.run(["custmine", "version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip()
