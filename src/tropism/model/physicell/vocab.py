"""PhysiCell 1.14's vocabulary: file names, the standard cycle and death models' codes, rates
and links, and the tables mapping settings elements to model fields (shared by the reader and
the writer)."""

from __future__ import annotations

from ..phenotype import APOPTOSIS_CODE, CYCLE_TOPOLOGIES, NECROSIS_CODE

SETTINGS_NAME = "PhysiCell_settings.xml"
CELLS_NAME = "cells.csv"
RULES_NAME = "rules.csv"

#: PhysiCell's standard rates (1/min) and fixed-duration flags per cycle link, in the link
#: order of ``CYCLE_TOPOLOGIES`` (``PhysiCell_standard_models.cpp``); used where a file sets
#: a cycle model without giving every rate.
_DEFAULT_CYCLE_LINKS: dict[int, tuple[tuple[float, bool], ...]] = {
    0: ((1.0 / (3.62 * 60.0), False), (1.0 / (13.0 * 60.0), True), (1.0 / (2.5 * 60.0), True)),
    1: ((1.0 / (4.59 * 60.0), False), (1.0 / (15.5 * 60.0), True)),
    2: ((0.00324, False), (0.00208, False), (0.00333, False)),
    5: ((0.0432 / 60.0, False),),
    6: ((0.00335, False), (0.00208, False), (0.00417, False), (0.0167, False)),
    7: ((1.0 / (4.59 * 60.0), False), (1.0 / (15.5 * 60.0), True)),
}
#: Cycle model names PhysiCell accepts when a ``<cycle>`` has no ``code`` (lower case).
_CYCLE_NAMES = {
    "ki67 (advanced)": 0, "advanced ki67": 0, "ki67 (basic)": 1, "basic ki67": 1,
    "flow cytometry model (basic)": 2, "flow cytometry": 2, "live": 5,
    "flow cytometry model (separated)": 6, "cycling-quiescent model": 7,
    **{v[0].lower(): k for k, v in CYCLE_TOPOLOGIES.items()},
}
_DEATH_CODES = {"apoptosis": APOPTOSIS_CODE, "necrosis": NECROSIS_CODE}
_AUTOPHAGY_CODE = 102
#: Death model → its phase links (start, end); durations are indexed by start phase.
_DEATH_LINKS = {APOPTOSIS_CODE: ((0, 1),), NECROSIS_CODE: ((0, 1), (1, 2))}
_DEATH_KEY = {APOPTOSIS_CODE: "apoptosis", NECROSIS_CODE: "necrosis"}

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}

# Field tables: (xml tag, record field, kind, units written back). Kinds: float, int, bool,
# str, time (float converted with the element's ``units`` attribute via TIME_TO_MIN).
_DOMAIN = [("x_min", "x_min", "float", None), ("x_max", "x_max", "float", None),
           ("y_min", "y_min", "float", None), ("y_max", "y_max", "float", None),
           ("z_min", "z_min", "float", None), ("z_max", "z_max", "float", None),
           ("dx", "dx", "float", None), ("dy", "dy", "float", None), ("dz", "dz", "float", None),
           ("use_2D", "use_2d", "bool", None)]
_OVERALL = [("max_time", "max_time", "time", "min"), ("dt_diffusion", "dt_diffusion", "time", "min"),
            ("dt_mechanics", "dt_mechanics", "time", "min"),
            ("dt_phenotype", "dt_phenotype", "time", "min"),
            ("diffusion_scheme", "diffusion_scheme", "str", None)]
_RUN_OPTIONS = [("virtual_wall_at_domain_edge", "virtual_wall_at_domain_edge", "bool", None),
                ("disable_automated_spring_adhesions", "disable_automated_spring_adhesions", "bool", None)]
_VOLUME = [("total", "total", "float", "micron^3"),
           ("fluid_fraction", "fluid_fraction", "float", "dimensionless"),
           ("nuclear", "nuclear", "float", "micron^3"),
           ("fluid_change_rate", "fluid_change_rate", "float", "1/min"),
           ("cytoplasmic_biomass_change_rate", "cytoplasmic_biomass_change_rate", "float", "1/min"),
           ("nuclear_biomass_change_rate", "nuclear_biomass_change_rate", "float", "1/min"),
           ("calcified_fraction", "calcified_fraction", "float", "dimensionless"),
           ("calcification_rate", "calcification_rate", "float", "1/min"),
           ("relative_rupture_volume", "relative_rupture_volume", "float", "dimensionless")]
_DEATH_PARAMETERS = [
    ("unlysed_fluid_change_rate", "unlysed_fluid_change_rate", "float", "1/min"),
    ("lysed_fluid_change_rate", "lysed_fluid_change_rate", "float", "1/min"),
    ("cytoplasmic_biomass_change_rate", "cytoplasmic_biomass_change_rate", "float", "1/min"),
    ("nuclear_biomass_change_rate", "nuclear_biomass_change_rate", "float", "1/min"),
    ("calcification_rate", "calcification_rate", "float", "1/min"),
    ("relative_rupture_volume", "relative_rupture_volume", "float", "dimensionless")]
# Mechanics before and after <cell_adhesion_affinities> / <options> (PhysiCell's order).
_MECHANICS_A = [
    ("cell_cell_adhesion_strength", "cell_cell_adhesion_strength", "float", "micron/min"),
    ("cell_cell_repulsion_strength", "cell_cell_repulsion_strength", "float", "micron/min"),
    ("cell_BM_adhesion_strength", "cell_BM_adhesion_strength", "float", "micron/min"),
    ("cell_BM_repulsion_strength", "cell_BM_repulsion_strength", "float", "micron/min"),
    ("relative_maximum_adhesion_distance", "relative_maximum_adhesion_distance", "float",
     "dimensionless")]
_MECHANICS_B = [
    ("attachment_elastic_constant", "attachment_elastic_constant", "float", "1/min"),
    ("attachment_rate", "attachment_rate", "float", "1/min"),
    ("detachment_rate", "detachment_rate", "float", "1/min"),
    ("maximum_number_of_attachments", "maximum_number_of_attachments", "int", None)]
_MOTILITY = [("speed", "speed", "float", "micron/min"), ("persistence_time", "persistence_time", "float", "min"),
             ("migration_bias", "migration_bias", "float", "dimensionless")]
_MOTILITY_OPTIONS = [("enabled", "enabled", "bool", None), ("use_2D", "use_2d", "bool", None)]
_CHEMOTAXIS = [("enabled", "enabled", "bool", None), ("substrate", "substrate", "str", None),
               ("direction", "direction", "float", None)]
_ADVANCED_CHEMOTAXIS = [("enabled", "enabled", "bool", None),
                        ("normalize_each_gradient", "normalize_each_gradient", "bool", None)]
_SECRETION = [("secretion_rate", "secretion_rate", "float", "1/min"),
              ("secretion_target", "secretion_target", "float", "substrate density"),
              ("uptake_rate", "uptake_rate", "float", "1/min"),
              ("net_export_rate", "net_export_rate", "float", "total substrate/min")]
_PHAGOCYTOSIS = [
    ("apoptotic_phagocytosis_rate", "apoptotic_phagocytosis_rate", "float", "1/min"),
    ("necrotic_phagocytosis_rate", "necrotic_phagocytosis_rate", "float", "1/min"),
    ("other_dead_phagocytosis_rate", "other_dead_phagocytosis_rate", "float", "1/min")]
_ATTACK = [("attack_damage_rate", "attack_damage_rate", "float", "1/min"),
           ("attack_duration", "attack_duration", "float", "min")]
_INTEGRITY = [("damage_rate", "damage_rate", "float", "1/min"),
              ("damage_repair_rate", "damage_repair_rate", "float", "1/min")]
#: Per-cell-type tables in <cell_interactions>: (list tag, item tag, field, PhysiCell default).
_INTERACTION_MAPS = [("live_phagocytosis_rates", "phagocytosis_rate", "live_phagocytosis_rates", 0.0),
                     ("attack_rates", "attack_rate", "attack_rates", 0.0),
                     ("immunogenicities", "immunogenicity", "immunogenicities", 1.0),
                     ("fusion_rates", "fusion_rate", "fusion_rates", 0.0)]

_RULE_COLUMNS = ("cell_type", "signal", "direction", "behavior", "saturation", "half_max",
                 "hill_power", "applies_to_dead")
_ALLOWED_ERRORS = {"greater_than_equal": ("ge", ">= {}"), "greater_than": ("gt", "> {}"),
                   "less_than_equal": ("le", "<= {}"), "less_than": ("lt", "< {}")}
