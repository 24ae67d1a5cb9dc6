"""Diffusing substrates (oxygen, chemokines, drugs, vesicles) and their boundary conditions."""

from __future__ import annotations

from pydantic import Field

from ._base import NonNeg, Record

FACES = ("xmin", "xmax", "ymin", "ymax", "zmin", "zmax")


class Substrate(Record):
    """One diffusing field.

    ``dirichlet_faces`` maps a face name (see ``FACES``) to ``(enabled, value)``; a face not
    listed takes ``dirichlet_enabled`` and ``dirichlet_value``.
    """

    name: str
    units: str = "dimensionless"
    diffusion_coefficient: NonNeg = 1000.0  # µm²/min
    decay_rate: NonNeg = 0.0  # 1/min
    initial_condition: float = 0.0
    dirichlet_enabled: bool = False
    dirichlet_value: float = 0.0
    dirichlet_faces: dict[str, tuple[bool, float]] = Field(default_factory=dict)

    def face(self, face: str) -> tuple[bool, float]:
        """Return ``(enabled, value)`` of the Dirichlet condition on one face."""
        if face in self.dirichlet_faces:
            return self.dirichlet_faces[face]
        return self.dirichlet_enabled, self.dirichlet_value
