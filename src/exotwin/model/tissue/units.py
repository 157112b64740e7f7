"""The tissue's units: µm, minutes, amounts per µm³; the library's rates are per day."""

MIN_PER_DAY = 1440.0
UM3_PER_ML = 1.0e12
