"""REST API of the partnerships app (banks, partners, pillars, initiatives) and the pieces every API view shares.

Scoring adds to these views (``scoring.api``) rather than the other way round: partnerships never imports scoring.
"""
