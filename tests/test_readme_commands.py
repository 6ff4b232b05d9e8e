"""The README's commands stay true: every command line it shows parses with today's CLI (no
renamed subcommand or flag), every subcommand of its CLI table exists, and the quick start runs
end to end on synthetic data (checkpoint inspected, two tasks scored, leaderboard written)."""

import re
import shlex
from pathlib import Path

import pytest

from rsbench.cli import main, parser

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def blocks(language: str) -> list[str]:
    """The README's fenced blocks of ``language`` ("" for a plain fence), in order."""
    found, current, lang = [], None, ""
    for line in README.splitlines():
        if line.startswith("```"):
            if current is None:
                current, lang = [], line[3:].strip()
            else:
                if lang == language:
                    found.append("\n".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return found


def command_lines(block: str) -> list[str]:
    """``rsbench ...`` lines of a shell block, continuations joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.split("  #")[0].strip() for line in joined.splitlines()
            if line.strip().startswith("rsbench ")]


def shown_commands() -> list[str]:
    return [c for b in blocks("bash") for c in command_lines(b)]


def test_the_readme_shows_commands():
    assert len(shown_commands()) >= 6  # the extraction reads the README, not an empty string


@pytest.mark.parametrize("command", shown_commands())
def test_every_shown_command_parses(command):
    parser().parse_args(shlex.split(command)[1:])  # argparse exits (fails the test) on a bad flag


def test_every_subcommand_in_the_cli_table_exists():
    (table,) = [b for b in blocks("") if "rsbench run " in b and "rsbench doctor" in b]
    sub = next(a for a in parser()._actions if a.dest == "command")
    named = {line.split()[1] for line in table.splitlines() if line.startswith("rsbench ")}
    assert named and named <= set(sub.choices), named - set(sub.choices)


def test_quick_start_runs_on_synthetic_data(tmp_path, capsys):
    """The quick start's three commands, with the MAE checkpoint replaced by a tiny ViT file
    (``--arch auto`` reads it from the shapes) and UC Merced by the synthetic copy in its real
    layout (no --download: offline)."""
    from tiny_models import write_tiny_card

    from rsbench.data import make_synthetic_ucmerced

    make_synthetic_ucmerced(tmp_path / "data" / "ucmerced", n_per_class=6, size=32, seed=0)
    write_tiny_card(tmp_path, 32)
    inspect, run, board = shown_commands()[:3]
    assert inspect.startswith("rsbench inspect") and run.startswith("rsbench run")
    assert board.startswith("rsbench leaderboard")

    def argv(command: str) -> list[str]:
        words = shlex.split(command.replace("mae_pretrain_vit_base.pth",
                                            str(tmp_path / "tiny.safetensors")))[1:]
        local = {"data", "results", "leaderboards/mine"}
        return [str(tmp_path / w) if w in local else "0" if w == "0,1,2" else w
                for w in words if w != "--download"]

    assert main(argv(inspect)) == 0
    assert main([*argv(run), "--cache-dir", str(tmp_path / "cache"), "--accelerator", "cpu",
                 "--set", "ucmerced_8_2_linear_probe:protocol.epochs=2", "--quiet"]) == 0
    records = sorted((tmp_path / "results").rglob("seed0-*.json"))
    assert len(records) == 2, records  # the two tasks of the quick start, seed 0
    assert main(argv(board)) == 0
    assert any((tmp_path / "leaderboards" / "mine").iterdir())
    capsys.readouterr()
