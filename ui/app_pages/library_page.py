"""Library: how many photos, from which folders, with which model; what the last run changed and what failed
and why; the index internals folded away; start an index run and watch it."""

import streamlit as st

from indexer.library import library_status
from ui import handles, indexjob
from ui.library_view import counts_words, internals, model_words, plural, run_words, utcnow

st.title("Library")
lib = handles.library()
searcher = handles.searcher()
with handles.explained():
    info = library_status(lib, max_failures=200)

counts, files = info["counts"], info["counts"]["files"]
st.caption(str(lib))
cols = st.columns(4)
cols[0].metric("photos", f"{counts['photos']:,}", help="Distinct images a search can find (exact copies once)")
cols[1].metric("files", f"{files['ok']:,}", help=f"Image files found; {plural(counts['copies'], 'exact copy')}")
cols[2].metric("unreadable", f"{files['failed']:,}", help="Files that could not be read or decoded: see below")
cols[3].metric("missing", f"{files['missing']:,}", help="Files indexed before and no longer found")
copies = f", {plural(counts['copies'], 'file')} repeating another's bytes" if counts["copies"] else ""
st.write(f"{plural(counts['photos'], 'photo')} to search in {plural(files['ok'], 'file')}{copies}.")

st.subheader("Folders")
st.dataframe({"folder": info["roots"]}, hide_index=True, width="stretch")
st.subheader("Model")
st.markdown(model_words(info["model"]))
st.subheader("Last run")
st.write(run_words(info["last_run"], utcnow()))
st.subheader("Failures")
if info["failures"]:
    st.caption(f"{plural(files['failed'], 'file')} could not be read; the most recently tried first.")
    st.dataframe(info["failures"], hide_index=True, width="stretch", column_order=("path", "reason", "when"))
else:
    st.write("No file failed.")
with st.expander("Index internals"):
    if info["index"]:
        st.dataframe(internals(info["index"]), hide_index=True, width="stretch")
    else:
        st.write("Not built yet: the next index run builds it.")

st.subheader("Index")
job = indexjob.read_job(lib)


@st.fragment(run_every=1.0 if indexjob.busy(job) else None)
def progress() -> None:
    now = indexjob.read_job(lib)
    if indexjob.busy(now):
        total, done = now.get("total", 0), now.get("done", 0)
        st.progress(done / total if total else 0.0, text=f"indexing: {done} of {total or '?'} files")
    elif now is not None:
        outcome = counts_words(now["summary"]) if "summary" in now else now.get("message", "")
        st.write(f"Run started here: **{now['state']}**. {outcome}")
        if indexjob.busy(job):  # it finished since the page was drawn: refresh the counts above
            st.rerun()


progress()
extra = st.text_input(
    "Add a folder (optional)", key="library_new_root", help="A folder of images, e.g. /home/me/Pictures"
)
if st.button("Index now", key="library_index", disabled=indexjob.busy(job), help="Re-index the folders above"):
    roots = info["roots"] + ([extra.strip()] if extra.strip() else [])
    indexjob.start(lib, searcher.source, roots)
    st.rerun()
