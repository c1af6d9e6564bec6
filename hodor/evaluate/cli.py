"""``hodor evaluate davis|youtube-vos``: score predictions, write the result files, print the table.

hodor evaluate davis --davis-root D --results R [--set val] [--task semi-supervised] --output O
        [--backend ours|official] [--official-path DIR]
    -> O/global_results-<set>.csv, O/per-sequence_results-<set>.csv (official format), O/metrics.json
hodor evaluate youtube-vos --root Y --results R [--split valid] --output O
    -> O/global_results-<split>.csv, O/per-object_results-<split>.csv, O/metrics.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hodor.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    davis = sub.add_parser("davis", help="DAVIS 2017 semi-supervised J&F (the official toolkit's numbers)")
    davis.add_argument(
        "--davis-root", type=Path, required=True, help="DAVIS folder (Annotations/480p, ImageSets)"
    )
    davis.add_argument(
        "--results", type=Path, required=True, help="folder of <sequence>/<frame>.png predictions"
    )
    davis.add_argument(
        "--set", default="val", help="ImageSets/2017 subset: train, val, test-dev (default val)"
    )
    davis.add_argument("--task", default="semi-supervised", help="only semi-supervised is implemented")
    davis.add_argument("--output", type=Path, required=True, help="folder for the CSVs and metrics.json")
    davis.add_argument(
        "--backend",
        choices=("ours", "official"),
        default="ours",
        help="ours (default, fast) or official: run the davis2017-evaluation toolkit itself (one process, "
        "needs JPEGImages/480p); both write the same files",
    )
    davis.add_argument(
        "--official-path",
        type=Path,
        help="folder of a davis2017-evaluation clone (holding davis2017/) for --backend official; "
        "default: the installed davis2017 package",
    )
    _common(davis)
    ytvos = sub.add_parser("youtube-vos", help="YouTube-VOS J/F over seen and unseen categories, and G")
    ytvos.add_argument("--root", type=Path, required=True, help="YouTube-VOS folder (train/, <split>/, ...)")
    ytvos.add_argument(
        "--results", type=Path, required=True, help="folder of [Annotations/]<video>/<frame>.png"
    )
    ytvos.add_argument(
        "--split", default="valid", help="split whose meta.json lists the objects (default valid)"
    )
    ytvos.add_argument(
        "--gt",
        type=Path,
        help="full ground-truth Annotations folder (default: ROOT/<split>_gt/Annotations; for a split "
        "carved from the training set, ROOT/<split>/Annotations)",
    )
    ytvos.add_argument(
        "--train-meta", type=Path, help="meta.json defining seen categories (default ROOT/train)"
    )
    ytvos.add_argument("--output", type=Path, required=True, help="folder for the CSVs and metrics.json")
    _common(ytvos)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers", type=int, default=2, help="processes scoring videos in parallel (1 = none)"
    )
    parser.add_argument("--per-sequence", action="store_true", help="also print the per-object table")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


# what the scoring workers run, imported once in the process they are forked from (hodor.parallel.warm_up)
WORKER_MODULES = {"davis": ("hodor.evaluate.davis",), "youtube-vos": ("hodor.evaluate.youtube_vos",)}


def _evaluate_davis(args: argparse.Namespace):
    if args.backend == "official":
        from hodor.evaluate.official import evaluate_davis_official

        return evaluate_davis_official(
            args.davis_root, args.results, args.set, task=args.task, official_path=args.official_path
        )
    from hodor.evaluate.davis import evaluate_davis

    return evaluate_davis(
        args.davis_root, args.results, args.set, task=args.task, workers=args.workers, progress=not args.quiet
    )


def run(args: argparse.Namespace) -> int:
    if args.workers > 1 and getattr(args, "backend", "ours") == "ours":
        from hodor.parallel import warm_up

        warm_up(WORKER_MODULES[args.benchmark])  # the workers' imports overlap with this process's own

    from hodor.evaluate import outputs

    if args.benchmark == "davis":
        result = _evaluate_davis(args)
        paths = outputs.write_davis_outputs(result, args.output)
        print(outputs.format_global_table(result))
        if args.per_sequence:
            print(outputs.format_sequence_table(result))
    else:
        from hodor.evaluate.youtube_vos import evaluate_youtube_vos, youtube_vos_gt

        gt = args.gt or youtube_vos_gt(args.root, args.split)
        if not gt.is_dir():
            raise InputError(f"{gt}: no ground-truth annotations for split {args.split!r}; pass --gt")
        result = evaluate_youtube_vos(
            gt,
            args.root / args.split / "meta.json",
            args.train_meta or args.root / "train" / "meta.json",
            args.results,
            split=args.split,
            workers=args.workers,
            progress=not args.quiet,
        )
        paths = outputs.write_youtube_vos_outputs(result, args.output)
        print(outputs.format_youtube_vos_table(result))
        if args.per_sequence:
            print(outputs.format_youtube_vos_objects(result))
    print(f"wrote {', '.join(str(p) for p in paths)}")
    print(f"Total time: {result.seconds:.2f} s")
    return 0
