"""redactor: lawful release of CCTV footage (Osan City CCTV guideline, PIPA)."""

__version__ = "0.1.0"
