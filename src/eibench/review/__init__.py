"""Review: campaigns where people rate annotations, refine CFSA drafts and audit judges, the
web app they work in, and the analysis of what they said."""
