"""Hand a sealed ``JsonVectorCollection`` to the engine a search team already runs.

- :mod:`.milvus`: load it into Milvus (the embedded engine of ``milvus-lite`` or a cluster, one client API) and
  search it there, with the same integer impacts, so its run can be compared with Lucene's and with exact scoring;
- :mod:`.bulk`: bulk files for loading elsewhere (Milvus bulk import, OpenSearch and Elasticsearch ``_bulk``),
  each checked against its target's documented limits.

Term ids are positions in the model's term list (:class:`~prosper_pyserini.encode.quantize.TermWeights`), the
same on the product and the query side.
"""
