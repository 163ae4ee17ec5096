"""Thin receivers: partnerships signals in, scoring services out."""

from django.dispatch import receiver

from partnerships.signals import demo_data_seeded


@receiver(demo_data_seeded)
def load_scoring_demo(sender, demo: bool, **kwargs) -> list[str]:
    from .services.demo import demo_scoring_seed

    return demo_scoring_seed(demo=demo)
