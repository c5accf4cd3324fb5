r"""Entry point for ``spark-submit`` (which wants a ``.py`` file): the ``dedup`` command.

Example::

    spark-submit [spark options] path/to/dedup/spark/submit.py \
        cluster --engine spark --format parquet -o hdfs:///out/clusters s3a://bucket/crawl/
"""

from dedup.cli import main

if __name__ == "__main__":
    main()
