"""Download and unpack a released ALBERT into the cache; print the folder as the last line.

    python -m albert_nb.download albert_base_v2                 # Google's bucket
    python -m albert_nb.download albert_base_v2 --cache_dir /data/models --force
    python -m albert_nb.download albert_base_v2 --base_url http://mirror.local/albert_models
    python -m albert_nb.download ./albert_base_v2.tar.gz        # a tarball you already have
    python -m albert_nb.download https://tfhub.dev/google/albert_base/3   # a hub module
    python -m albert_nb.download --list                         # the release table

NAME is anything `albert_nb.from_pretrained` takes. The printed folder is what `--init_checkpoint`
(and `--albert_directory`) accept; they also accept the release name itself. A second run
finds the unpacked release and makes no network request; an interrupted download resumes.
Errors are one line on stderr with exit status 2 (offline, 404, cut transfer, checksum, disk).
"""
from __future__ import annotations

import argparse
import sys

from albert_nb.errors import InputError
from albert_nb.interop import releases


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m albert_nb.download",
                                description="Download, verify and unpack a released ALBERT.")
    p.add_argument("name", nargs="?", help="release name, tarball path or URL, hub handle, "
                   "or Hugging Face id")
    p.add_argument("--cache_dir", default=None, help="cache folder (default $ALBERT_NB_HOME/models "
                   "or ~/.cache/albert_nb/models)")
    p.add_argument("--force", action="store_true", help="download and unpack again")
    p.add_argument("--base_url", default=None, help="mirror of the bucket (default "
                   "$ALBERT_NB_MODELS_URL, else Google's bucket)")
    p.add_argument("--source", choices=("bucket", "tfhub", "hf"), default=None,
                   help="for a release name: take its TF-Hub module or Hugging Face copy instead")
    p.add_argument("--list", action="store_true", help="print the release table and exit")
    p.add_argument("--no_progress", action="store_true", help="no progress bar")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.list:
        print(releases.table_text(args.base_url))
        return 0
    if not args.name:
        print("download: NAME is required (python -m albert_nb.download --list shows the "
              "releases)", file=sys.stderr)
        return 2
    try:
        _, path = releases.locate(args.name, cache_dir=args.cache_dir, force=args.force,
                                  base_url=args.base_url, progress=not args.no_progress,
                                  source=args.source)
    except InputError as err:
        print(f"InputError: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("download: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
