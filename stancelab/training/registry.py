"""The model registry: register a logged model and move ``champion`` to it when it wins on CV."""

from __future__ import annotations

from stancelab import tracking

CHAMPION = "champion"


def beats_champion(score: float, previous_score: float | None) -> bool:
    """Whether a new model takes ``champion``: there is none with a comparable score, or its CV score is
    higher (an exact tie keeps the champion)."""
    return previous_score is None or score > previous_score


def champion_scores(client, model_name: str, *metrics: str, experiment_sha: str | None = None
                    ) -> tuple[str | None, list[float | None]]:
    """The champion's version and its run's value of each metric (None: no champion or no such metric).
    With ``experiment_sha``, a champion trained from another version of the experiment file has no
    scores to beat: its CV scores were measured with other components or another grid, so they do not
    compare, and the model of the current experiment file takes the alias."""
    from mlflow.exceptions import MlflowException

    try:
        version = client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None, [None] * len(metrics)
    if experiment_sha is not None and version.tags.get("experiment_sha") != experiment_sha:
        return version.version, [None] * len(metrics)
    values = client.get_run(version.run_id).data.metrics
    return version.version, [values.get(metric) for metric in metrics]


def register(client, model_uri: str, model_name: str, select: str, score: float,
             tags: dict[str, str]) -> tuple[str, bool, str | None]:
    """Register a logged model and move ``champion`` to it if it beats the current champion's CV score,
    or if the champion was trained from another version of the experiment file (``tags["experiment_sha"]``).

    Read-compare-write under the store lock: two ``train.py`` processes finishing together must not
    both read the old champion and let the weaker model take the alias last."""
    import contextlib
    import io

    import mlflow

    with tracking.store_lock():
        with contextlib.redirect_stderr(io.StringIO()):  # MLflow prints "Successfully registered model ..."
            registered = mlflow.register_model(model_uri, model_name)
        version = str(registered.version)
        previous, (previous_score,) = champion_scores(client, model_name, f"cv_{select}",
                                                      experiment_sha=tags.get("experiment_sha"))
        promote = beats_champion(score, previous_score)
        for key, value in {f"cv_{select}": f"{score:.4f}", **tags}.items():
            client.set_model_version_tag(model_name, version, key, value)
        if promote:
            client.set_registered_model_alias(model_name, CHAMPION, version)
    return version, promote, previous


def pip_requirements() -> list[str]:
    """Pinned runtime requirements of a logged model (skips MLflow's slow import-capturing inference).
    The project itself (``pip install`` of this repository) provides the model's own classes."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("scikit-learn", "skops", "numpy", "scipy", "pandas")]
