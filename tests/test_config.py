import pytest

from stancelab.model.config import load_config
from stancelab.errors import UserError

REPO_EXPERIMENTS = __import__("pathlib").Path(__file__).resolve().parent.parent / "experiments"


@pytest.mark.parametrize("name", ["default.yaml", "mawqif.yaml", "semeval2016.yaml"])
def test_shipped_experiments_validate(name):
    config = load_config(REPO_EXPERIMENTS / name)
    assert config.model_name.endswith("-stance")
    assert len(config.configurations()) >= 1


def write(tmp_path, text):
    path = tmp_path / "exp.yaml"
    path.write_text(text, encoding="utf-8")
    return path


BASE = "experiment: e\nmodel_name: m\ndataset: {name: idlib}\n"


def test_unknown_key_is_named(tmp_path):
    with pytest.raises(UserError, match=r"exp.yaml: unknown key 'model.classifer'"):
        load_config(write(tmp_path, BASE + "model: {classifer: {C: 1}}\n"))


def test_missing_key_is_named(tmp_path):
    with pytest.raises(UserError, match=r"missing key 'model_name'"):
        load_config(write(tmp_path, "experiment: e\ndataset: {name: idlib}\n"))


def test_bad_value_is_named(tmp_path):
    with pytest.raises(UserError, match=r"key 'model.classifier.C'"):
        load_config(write(tmp_path, BASE + "model: {classifier: {C: -1}}\n"))
    with pytest.raises(UserError, match=r"key 'model.classifier.C'"):  # not a number a solver can use
        load_config(write(tmp_path, BASE + "model: {classifier: {C: .inf}}\n"))
    with pytest.raises(UserError, match=r"key 'model.none_scale'"):
        load_config(write(tmp_path, BASE + "model: {none_scale: .nan}\n"))


def test_invalid_yaml_names_line(tmp_path):
    with pytest.raises(UserError, match=r"exp.yaml:\d+: invalid YAML"):
        load_config(write(tmp_path, BASE + "model: [unclosed\n"))


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="no such experiment file"):
        load_config(tmp_path / "nope.yaml")


def test_dotted_overrides_are_validated_too(tmp_path):
    path = write(tmp_path, BASE)
    config = load_config(path, ["model.classifier.C=2.5", "cv.folds=3", "model.char=null"])
    assert config.model.classifier.C == 2.5 and config.cv.folds == 3 and config.model.char is None
    with pytest.raises(UserError, match="unknown key 'cv.fold'"):
        load_config(path, ["cv.fold=3"])
    with pytest.raises(UserError, match="expected key=value"):
        load_config(path, ["cv.folds"])


def test_grid_combinations_and_bad_grid_keys(tmp_path):
    config = load_config(write(tmp_path, BASE + "grid:\n  model.classifier.C: [1, 2]\n  model.none_scale: [0.5, 1.0]\n"))
    combos = config.configurations()
    assert len(combos) == 4
    assert {(m.classifier.C, m.none_scale) for _, m in combos} == {(1, 0.5), (1, 1.0), (2, 0.5), (2, 1.0)}
    with pytest.raises(UserError, match="unknown key"):
        load_config(write(tmp_path, BASE + "grid:\n  model.classifier.gamma: [1]\n"))
    with pytest.raises(UserError, match="must start with 'model.'"):
        load_config(write(tmp_path, BASE + "grid:\n  seed: [1, 2]\n"))
