"""The audit on a real Dask cluster on this machine (a scheduler and 2 worker processes on 127.0.0.1):
through `--scheduler` it gives exactly the rows of the local run."""

from __future__ import annotations

from pathlib import Path

import distributed  # the `audit` extra, part of `dev`
import pytest
from test_audit_cli import build_calls, rows_of

from softphone_assist.cli import main


def test_the_cluster_gives_exactly_the_rows_of_the_local_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    calls = build_calls(tmp_path / "calls")
    local, remote, by_env = tmp_path / "local", tmp_path / "remote", tmp_path / "env"
    assert main(["audit", str(tmp_path / "calls"), "--out", str(local), "--jobs", "2"]) == 1  # the corrupt one
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        assert main(["audit", str(tmp_path / "calls"), "--out", str(remote), "--scheduler", address]) == 1
        with distributed.Client(address) as client:
            ran_on = {w["id"] for w in client.scheduler_info()["workers"].values()}
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
        assert main(["audit", str(calls["compliant"]), "--out", str(by_env)]) == 0
    assert len(ran_on) == 2

    def by_file(out: Path) -> dict[str, dict]:
        return {r["file"]: r for r in rows_of(out)}

    assert len(by_file(local)) == len(calls)
    assert by_file(remote) == by_file(local)
    assert list(by_file(by_env).values()) == [by_file(local)[str(calls["compliant"].resolve())]]
    capsys.readouterr()


def test_an_unreachable_scheduler_is_a_bad_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = build_calls(tmp_path / "calls")
    assert main(["audit", str(calls["compliant"]), "--out", str(tmp_path / "o"),
                 "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "--scheduler tcp://127.0.0.1:9: cannot reach the Dask scheduler" in capsys.readouterr().err
