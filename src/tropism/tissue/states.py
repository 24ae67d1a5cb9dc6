"""Death states of an agent (PhysiCell phases: apoptotic 100, necrotic swelling 101, lysed 102)."""

LIVE = 0
APOPTOTIC = 1
NECROTIC_SWELLING = 2
NECROTIC_LYSED = 3
