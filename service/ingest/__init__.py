"""Turning a new article into a draft of typed principles for a curator to review.

text (units with offsets, clean text) → junk (spans that are not content) → lists (numbered runs,
their overviews) → segment (principle spans) → classify (a type with its top three) → fields (title,
summary, keywords, questions, advice, symptoms) → quotes (unique `from`/`to`) → draft (the curated
format plus what was generated and how sure). duplicates compares a new article with the corpus.
"""
