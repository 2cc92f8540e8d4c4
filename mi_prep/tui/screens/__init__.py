"""One Screen per file: home, review, browse, stats, export, card_info (labs and drill live beside them)."""
