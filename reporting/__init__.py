"""Reporting: the meeting pack (Word, PDF, PowerPoint, Excel, maps), thematic maps and Excel
downloads, built from the coverage tables. No Streamlit here; pages and the CLI call it."""
