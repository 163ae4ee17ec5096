"""python manage.py generate_portfolio --initiatives N [--banks B] [--prefix P] [--seed S]"""

import time

from django.core.management.base import BaseCommand, CommandError

from scoring.services.portfolio import portfolio_generate


class Command(BaseCommand):
    help = "Build a synthetic, illustrative portfolio in bulk (benchmarks, load tests)."

    def add_arguments(self, parser):
        parser.add_argument("--initiatives", type=int, required=True)
        parser.add_argument("--banks", type=int, default=1)
        parser.add_argument("--prefix", default="bench")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options):
        if options["initiatives"] < 1 or options["banks"] < 1:
            raise CommandError("--initiatives and --banks must be at least 1")
        started = time.perf_counter()
        try:
            result = portfolio_generate(
                initiatives=options["initiatives"],
                banks=options["banks"],
                prefix=options["prefix"],
                seed=options["seed"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{result.initiatives} initiatives, {result.ratings} ratings in {result.banks} bank(s) "
            f"in {time.perf_counter() - started:.1f} s"
        )
