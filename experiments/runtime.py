"""Process-wide settings that must be in place before mlflow is imported.

MLflow reads these environment variables at import time; setting them later has no effect. Each
one removes output a cron job or an analyst does not want (measured, see
../shared/reference/environment.md section 4(d)); users can still override every one.
"""

import logging
import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no background call home from a batch job
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # drops "Creating initial MLflow database tables..."
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # tqdm bars during log_model/load
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # "View run at http://..." lines

logging.getLogger("prophet.plot").disabled = True  # "Importing plotly failed" at import: we plot with matplotlib
logging.getLogger("cmdstanpy").disabled = True  # "Chain [1] start processing" on every Prophet fit
# On a database error (say, a full disk) MLflow's sqlite store logs the error with its traceback,
# then raises it as an MlflowException, which the CLI reports as its one `error:` line.
logging.getLogger("mlflow.store.db.utils").addFilter(
    lambda record: not record.getMessage().startswith("SQLAlchemy database error.")
)
