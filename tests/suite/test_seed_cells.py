"""The seeds of a linear-probe task train in one pass, each record the one its seed gets alone."""

from __future__ import annotations

import json

import pytest
from fake_data import generator

from rsbench.cli import main

TASK = "ucmerced_8_2_linear_probe"


def records_of(tmp_path, card, data, seeds: str, out: str, *sets: str,
               rc: int = 0) -> dict[int, dict]:
    assert rc == main(["run", "--model", str(card), "--tasks", TASK, "--seeds", seeds,
               "--out", str(tmp_path / out), "--data-root", str(data),
               "--cache-dir", str(tmp_path / "cache"), "--accelerator", "cpu", "--quiet",
               "--set", "dataset.image_size=32", "--set", "protocol.epochs=3",
               *[a for s in sets for a in ("--set", s)]])
    found = [json.loads(p.read_text()) for p in (tmp_path / out).rglob("*.json")]
    return {r["seed"]: r for r in found}


@pytest.fixture
def ucmerced(tmp_path):
    data = tmp_path / "data"
    generator("ucmerced").make(data / "ucmerced", n_per_class=6, size=16, seed=0)
    return data


def test_two_seeds_in_one_pass_equal_each_seed_run_alone(tmp_path, tiny_card, ucmerced):
    card = tiny_card(tmp_path, 32)
    grid = "protocol.blr_grid=[0.1,1.0,10.0]"
    together = records_of(tmp_path, card, ucmerced, "0,1", "together", grid)
    alone = {**records_of(tmp_path, card, ucmerced, "0", "alone0", grid),
             **records_of(tmp_path, card, ucmerced, "1", "alone1", grid)}
    assert sorted(together) == sorted(alone) == [0, 1]
    for seed in (0, 1):
        a, b = together[seed], alone[seed]
        assert a["status"] == b["status"] == "ok"
        assert a["metrics"] == b["metrics"], seed
        assert a["protocol"] == b["protocol"], seed  # val sweep, chosen blr, every hparam
        assert a["inputs"] == b["inputs"], seed  # the same inputs name the same record
        assert a["data"] == b["data"], seed
        assert (a["timings"]["seeds_in_pass"], b["timings"]["seeds_in_pass"]) == (2, 1)
    sweeps = [together[s]["protocol"]["hparams"]["val_sweep"] for s in (0, 1)]
    assert sweeps[0] != sweeps[1]  # the seeds trained different heads


def test_a_seed_that_fails_alone_fails_only_its_own_record(tmp_path, tiny_card, ucmerced,
                                                          monkeypatch):
    """The pass gives seed 1 an error (as a diverged refit does) and seed 0 its result: seed 0's
    record is the one it gets alone, seed 1's a failed record with that error."""
    from rsbench.protocols import linear_probe

    card = tiny_card(tmp_path, 32)
    alone = records_of(tmp_path, card, ucmerced, "0", "alone")
    real = linear_probe.run_seeds

    def seed_1_fails(ctx, seeds):
        return {**real(ctx, seeds), 1: FloatingPointError("seed 1 diverged (injected)")}

    monkeypatch.setattr(linear_probe, "run_seeds", seed_1_fails)
    records = records_of(tmp_path, card, ucmerced, "0,1", "together", rc=1)  # 1: a run failed
    assert records[0]["status"] == "ok" and records[0]["metrics"] == alone[0]["metrics"]
    assert records[0]["protocol"] == alone[0]["protocol"]
    assert records[1]["status"] == "failed"
    assert records[1]["error"]["message"] == "seed 1 diverged (injected)"


def test_a_refit_that_diverges_at_every_seed_fails_each_seed_record(tmp_path, tiny_card, ucmerced):
    card = tiny_card(tmp_path, 32)
    records = records_of(tmp_path, card, ucmerced, "0,1", "out", "protocol.blr_grid=[1.0e+38]",
                         "protocol.warmup_epochs=0", rc=1)  # 1: a run failed
    assert sorted(records) == [0, 1]
    for record in records.values():
        assert record["status"] == "failed"
        assert "diverged at blr 1e+38 when refitted" in record["error"]["message"]
