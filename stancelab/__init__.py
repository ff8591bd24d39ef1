"""stancelab: stance and sentiment per actor and target, TF-IDF + scikit-learn, tracked in MLflow.

Importing this package has no side effects: tracking, logging and folders are set up by
explicit calls (``stancelab.tracking.setup``).
"""

__version__ = "0.1.0"
