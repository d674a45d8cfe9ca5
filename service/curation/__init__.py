"""Curation: the draft store (store.py), a draft under review (review.py), the publish jobs that accept or
remove an article and rebuild the index (jobs.py), the corpus write lock (locks.py) and their wire format
(models.py). The drafting algorithm itself is service/ingest/."""
