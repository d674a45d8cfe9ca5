"""Everything `kb build` does, and the only place (with the torch embedder behind KB_ENCODER=torch)
that imports the `[build]` extra: torch, sentence-transformers, onnx.

- index: writes the index folder (each retriever's files, records, manifest) and swaps it in
- adapt: trains the query encoder adapted to the corpus
- query_side: which model encodes queries, its training cache and its ONNX copy
- onnx: the int8 ONNX export, and its reuse from the previous build
- vector_cache: document vectors by text, so a rebuild encodes only new texts
- pipeline: `build()`, the whole of `kb build`
"""
