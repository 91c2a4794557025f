"""Physical constants (SI)."""

SPEED_OF_LIGHT_M_PER_S = 299_792_458.0
PLANCK_J_S = 6.626_070_15e-34
