"""`sciperf package` (tools/package.py) and the system description capture (tools/sysdesc.py)."""

from __future__ import annotations

import json
import socket
import stat

import pytest
from tests.package.pkgtrees import BENCH, ORG, SYSTEM, FakeResult, sciperf_log

from compliance.package import check_package
from compliance.sysdesc import schema_errors, system_fields
from tools import package as pkg
from tools import sysdesc


def results_only(root, runs=3, org_in_logs=ORG):
    bench = root / ORG / "results" / SYSTEM / "strong" / BENCH
    bench.mkdir(parents=True)
    for i in range(runs):
        (bench / f"result_{i}.txt").write_text(sciperf_log(seed=10 + i, org=org_in_logs))
    return root / ORG


@pytest.fixture
def no_gpu(monkeypatch):
    """Captures as on a machine without nvidia-smi, whatever this one has."""
    monkeypatch.setattr(sysdesc, "nvidia_smi", lambda: None)


@pytest.fixture
def fake_nvidia_smi(monkeypatch, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "nvidia-smi"
    exe.write_text("#!/bin/sh\n"
                   "echo 'NVIDIA A100-SXM4-80GB, 81920 MiB, 535.104.05'\n"
                   "echo 'NVIDIA A100-SXM4-80GB, 81920 MiB, 535.104.05'\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return exe


# -- tools/sysdesc.py ---------------------------------------------------------------------------

def test_capture_is_valid_and_names_no_host(no_gpu):
    desc, notes = sysdesc.describe(org=ORG, system=SYSTEM)
    assert schema_errors(desc) == [] and notes == []
    assert list(desc)[:len(system_fields())] == system_fields()
    assert desc["accelerators_per_node"] == "0" and desc["accelerator_model_name"] == "none"
    assert "TensorFlow" in desc["framework"]
    assert socket.gethostname() not in json.dumps(desc)


def test_capture_reads_nvidia_smi(fake_nvidia_smi):
    desc, _ = sysdesc.describe(org=ORG, system=SYSTEM)
    assert desc["accelerators_per_node"] == "2"
    assert desc["accelerator_model_name"] == "NVIDIA A100-SXM4-80GB"
    assert desc["accelerator_memory_capacity"] == "81920 MiB"
    assert desc["other_software_stack"]["nvidia_driver"] == "535.104.05"


def test_mixed_gpus_are_counted_by_model():
    fields, _ = sysdesc.accelerator_description("A, 1 MiB, 1\nB, 2 MiB, 1\nA, 1 MiB, 1\n")
    assert fields["accelerator_model_name"] == "2x A + 1x B"
    assert fields["accelerators_per_node"] == "3"


def test_cpu_from_proc_cpuinfo_without_lscpu():
    text = ("processor\t: 0\nmodel name\t: Test CPU @ 2.00GHz\nphysical id\t: 0\ncpu cores\t: 4\n"
            "cpu MHz\t\t: 2000.000\n\nprocessor\t: 1\nphysical id\t: 1\ncpu cores\t: 4\n\n")
    cpu = sysdesc.cpu_description({}, sysdesc.cpuinfo_fields(text))
    assert cpu["host_processor_model_name"] == "Test CPU @ 2.00GHz"
    assert cpu["host_processors_per_node"] == "2"
    assert cpu["host_processor_core_count"] == "4"
    assert cpu["host_processor_vcpu_count"] == "2"
    assert cpu["host_processor_frequency"] == "2000 MHz"


def test_overrides_complete_and_override(no_gpu, tmp_path):
    f = tmp_path / "o.yaml"
    f.write_text("number_of_nodes: 16\nhost_storage_type: NVMe SSD\ncooling: air\n"
                 "system_type: datacenter\nother_software_stack: {cuda: 12.2}\n")
    desc, notes = sysdesc.describe(org=ORG, system=SYSTEM, overrides=f)
    assert desc["number_of_nodes"] == "16"  # YAML's number, written as MLPerf's string
    assert desc["host_storage_type"] == "NVMe SSD"
    assert desc["other_software_stack"] == {"cuda": "12.2"}
    assert list(desc)[-1] == "system_type" and "system_type" in notes[0]


def test_override_that_breaks_the_schema_names_the_field(no_gpu, tmp_path):
    f = tmp_path / "o.yaml"
    f.write_text("number_of_nodes: many\n")
    with pytest.raises(sysdesc.SysdescError, match=r"o\.yaml.*\n  number_of_nodes is 'many'"):
        sysdesc.describe(org=ORG, system=SYSTEM, overrides=f)


@pytest.mark.parametrize("text, error", [
    ("cooling: yes\n", "cooling: True is a YAML boolean"),
    ("cooling: [air]\n", "cooling: expected text, not a list"),
    ("- a\n", "expected a mapping"),
    ("a: [\n", "not valid YAML"),
])
def test_bad_overrides_file(tmp_path, text, error):
    f = tmp_path / "o.yaml"
    f.write_text(text)
    with pytest.raises(sysdesc.SysdescError, match=error):
        sysdesc.load_overrides(f)


# -- tools/package.py ---------------------------------------------------------------------------

def test_package_writes_a_tree_that_passes(no_gpu, tmp_path, capsys):
    org = results_only(tmp_path)
    assert pkg.main([str(tmp_path), "--org", ORG, "--system", SYSTEM]) == 0
    desc = json.loads((org / "systems" / f"{SYSTEM}.json").read_text())
    assert schema_errors(desc) == []
    # from the logs: submitter, division, status (the machine cannot tell them)
    assert (desc["submitter"], desc["division"], desc["status"]) == (ORG, "closed", "onprem")
    impl = org / "benchmarks" / BENCH / "implementations" / pkg.DEFAULT_IMPL
    for f in ("reference_implementations/cosmoflow/data.py",
              "reference_implementations/common/training.py", "sciperf/vocab.py", "README.md"):
        assert (impl / f).is_file(), f
    assert not list(impl.rglob("__pycache__"))
    logs = {p: FakeResult(p) for p in org.rglob("result_*.txt")}
    assert check_package(org, None, logs) == []
    assert "check-compliance" in capsys.readouterr().out


def test_package_again_replaces_the_copy(no_gpu, tmp_path):
    org = results_only(tmp_path)
    impl = org / "benchmarks" / BENCH / "implementations" / pkg.DEFAULT_IMPL
    assert pkg.main([str(tmp_path), "--org", ORG, "--system", SYSTEM]) == 0
    (impl / "leftover.py").write_text("")
    assert pkg.main([str(tmp_path), "--org", ORG, "--system", SYSTEM]) == 0
    assert not (impl / "leftover.py").exists()


def test_package_without_results(tmp_path, capsys):
    assert pkg.main([str(tmp_path), "--org", ORG, "--system", SYSTEM]) == 2
    assert "no result_*.txt under" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--org", "--system", "--impl"])
def test_package_refuses_names_that_leave_the_tree(tmp_path, capsys, flag):
    results_only(tmp_path)
    args = {"--org": ORG, "--system": SYSTEM, "--impl": "x"}
    args[flag] = "../elsewhere"
    argv = [str(tmp_path)] + [x for kv in args.items() for x in kv]
    assert pkg.main(argv) == 2
    assert "letters, digits" in capsys.readouterr().err


@pytest.mark.parametrize("data, needle", [(b"\x89PNG\r\n\x1a\n\x00\xff", "not UTF-8"),
                                          (b"a: &x 1\nb: *x\n", "anchors")])
def test_package_names_a_binary_or_aliased_overrides_file(no_gpu, tmp_path, capsys, data,
                                                         needle):
    results_only(tmp_path)
    f = tmp_path / "o.yaml"
    f.write_bytes(data)
    assert pkg.main([str(tmp_path), "--org", ORG, "--system", SYSTEM, "--overrides", str(f)]) == 2
    err = capsys.readouterr().err
    assert str(f) in err and needle in err and "Traceback" not in err


def test_a_failed_write_leaves_the_description_as_it_was(tmp_path, monkeypatch):
    target = tmp_path / "systems" / "box.json"
    sysdesc.write({"submitter": "a"}, target)
    before = target.read_bytes()

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sysdesc.os, "fsync", full_disk)
    with pytest.raises(OSError):
        sysdesc.write({"submitter": "b" * 10_000}, target)
    assert target.read_bytes() == before
    assert [p.name for p in target.parent.iterdir()] == ["box.json"]  # no temporary left


def test_package_with_a_bad_overrides_file_writes_nothing(no_gpu, tmp_path, capsys):
    org = results_only(tmp_path)
    f = tmp_path / "o.yaml"
    f.write_text("accelerators_per_node: four\n")
    assert pkg.main([str(tmp_path), "--org", ORG, "--system", SYSTEM, "--overrides", str(f)]) == 2
    assert "accelerators_per_node is 'four'" in capsys.readouterr().err
    assert not (org / "systems").exists()


def test_copy_refuses_a_symlink_out_of_the_source(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    for f in ("reference_implementations/__init__.py", "reference_implementations/common/a.py",
              f"reference_implementations/{BENCH}/train.py", "sciperf/__init__.py",
              "sciperf/vocab.py"):
        (repo / f).parent.mkdir(parents=True, exist_ok=True)
        (repo / f).write_text("")
    outside = tmp_path / "outside.py"
    outside.write_text("secret = 1\n")
    (repo / f"reference_implementations/{BENCH}/extra.py").symlink_to(outside)
    monkeypatch.setattr(pkg, "ROOT", repo)
    with pytest.raises(pkg.PackageError, match="leaves .*refused"):
        pkg.copy_implementation(BENCH, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
    # a link inside the source tree is copied as the file it points to
    (repo / f"reference_implementations/{BENCH}/extra.py").unlink()
    (repo / f"reference_implementations/{BENCH}/extra.py").symlink_to(
        repo / f"reference_implementations/{BENCH}/train.py")
    pkg.copy_implementation(BENCH, tmp_path / "dest")
    copied = tmp_path / "dest" / f"reference_implementations/{BENCH}/extra.py"
    assert copied.is_file() and not copied.is_symlink()


def test_runs_that_disagree_leave_the_field_to_the_capture(no_gpu, tmp_path, capsys):
    org = results_only(tmp_path)
    bench = org / "results" / SYSTEM / "strong" / BENCH
    (bench / "result_0.txt").write_text(sciperf_log(seed=10, org="Other"))
    assert pkg.main([str(tmp_path), "--org", ORG, "--system", SYSTEM]) == 0
    assert "different submitter values" in capsys.readouterr().out
    desc = json.loads((org / "systems" / f"{SYSTEM}.json").read_text())
    assert desc["submitter"] == ORG  # --org


def test_a_blueprint_benchmark_brings_its_blueprints_shared_code():
    parts = [str(p) for p in pkg.implementation_sources("dsprites")]
    assert "reference_implementations/disentangle" in parts
    assert "reference_implementations/disentangle" not in \
        [str(p) for p in pkg.implementation_sources("cosmoflow")]
