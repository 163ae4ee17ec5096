"""Thin receivers: partnerships signals in, scoring services out."""

from django.dispatch import receiver

from partnerships.signals import (
    bank_archive_parts,
    demo_data_seeded,
    lifecycle_changed,
    limit_breaches_changed,
)


@receiver(demo_data_seeded)
def load_scoring_demo(sender, demo: bool, **kwargs) -> list[str]:
    from .services.demo import demo_scoring_seed

    return demo_scoring_seed(demo=demo)


@receiver(limit_breaches_changed)
def rescore_after_limit_breaches(sender, bank_id: int, initiative_ids: list[int], **kwargs) -> None:
    from .services.limits import limit_breaches_rescore

    limit_breaches_rescore(bank_id=bank_id, initiative_ids=initiative_ids)


@receiver(bank_archive_parts)
def scoring_archive_part(sender, **kwargs):
    from .services.archive import scoring_archive_part

    return scoring_archive_part()


@receiver(lifecycle_changed)
def rescore_after_lifecycle_change(sender, bank_id: int, initiative_ids: list[int], **kwargs) -> None:
    from .services.limits import limit_breaches_rescore

    limit_breaches_rescore(bank_id=bank_id, initiative_ids=initiative_ids)
