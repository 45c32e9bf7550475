"""Paper the law asks for, as PDF with a Korean font: decision notices, the 별지 4호 request form, ledger exports."""
