import pytest

from fastsim.__main__ import main


@pytest.mark.parametrize("argv, message", [
    (["generate", "--detector", "ILD", "--output", "x.root"], "known detectors"),
    (["generate", "--events", "0", "--output", "x.root"], "expected a positive integer, got 0"),
    (["generate", "--process", "gun", "--particle", "999", "--output", "x.root"], "--particle"),
    (["generate", "--process", "higgs", "--output", "x.root"], "invalid choice"),
], ids=["unknown-detector", "zero-events", "bad-gun-particle", "bad-process"])
def test_bad_arguments_exit_2(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_generate_gun(tmp_path, capsys):
    out = tmp_path / "gun.edm4hep.root"
    main(["generate", "--detector", "CLIC", "--process", "gun", "--particle", "22", "--energy", "5", "20",
          "--events", "20", "--output", str(out), "--quiet"])
    assert out.exists() and "wrote 20 CLIC_o3_v14 gun events" in capsys.readouterr().out
