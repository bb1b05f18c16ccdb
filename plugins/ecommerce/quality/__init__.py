"""Quality checks declared as data (``include/quality/*.yml``), run as SQL, results persisted."""
