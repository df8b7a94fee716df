"""Browser tests (pytest -m browser): shared helpers."""


def uploader_input(page, label: str):
    """The file input of the Streamlit uploader labelled `label`, once it is in the page. Found by
    its label, not by position: while a page reruns, the inputs of the previous run may still be
    there, and the n-th input is not always the n-th uploader."""
    found = page.locator("[data-testid='stFileUploader']").filter(has_text=label).locator("input[type='file']").first
    found.wait_for(state="attached", timeout=60000)
    return found
