"""The footage access log (표준지침 47조: for every viewing, the purpose, the viewer and the time), kept apart from
the footage: who touched which footage, when, how and why. Kept a year (two for large systems), reviewed monthly."""
