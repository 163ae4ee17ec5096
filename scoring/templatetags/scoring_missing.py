"""``{% load scoring_missing %}``, then ``{{ gate.missing|missing_labels }}``: what a version 2 formula lacked."""

from django import template

from ..missing import missing_labels

register = template.Library()
register.filter("missing_labels", missing_labels)
