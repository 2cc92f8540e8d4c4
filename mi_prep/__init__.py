"""mi-prep: flashcards, Anki export, labs and mock-interview drills for mechanistic interpretability."""

__version__ = "0.1.0"
