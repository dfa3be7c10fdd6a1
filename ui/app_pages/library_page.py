"""Library: how many photos, from which folders, with which model; what the last run changed and what failed
and why; the index internals folded away; start an index run and watch it."""

import streamlit as st

from indexer.library import library_status
from ui import handles, indexjob, watchjob
from ui.library_view import counts_words, internals, model_words, offline_words, plural, run_words, utcnow, watch_words

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
offline = {r["path"]: r["files"] for r in info["offline"]}
states = [f"offline: {plural(offline[r], 'file')} kept" if r in offline else "online" for r in info["roots"]]
st.dataframe({"folder": info["roots"], "state": states}, hide_index=True, width="stretch")
if offline:
    st.caption(offline_words(list(offline)))
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
watch = watchjob.read_watch(lib)
online = [r for r in info["roots"] if r not in offline]


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
busy = indexjob.busy(job) or watchjob.watching(watch)
if st.button("Index now", key="library_index", disabled=busy, help="Re-index the folders above"):
    roots = online + ([extra.strip()] if extra.strip() else [])
    indexjob.start(lib, searcher.source, roots)
    st.rerun()

st.subheader("Watch")


@st.fragment(run_every=2.0 if watchjob.watching(watch) else None)
def watching() -> None:
    now = watchjob.read_watch(lib)
    st.write(watch_words(now, utcnow()))
    if watchjob.watching(now):
        if st.button("Stop watching", key="library_watch_stop"):
            watchjob.stop(lib)
            st.rerun()
    elif watchjob.watching(watch):  # it stopped since the page was drawn: refresh the counts above
        st.rerun()


watching()
if not watchjob.watching(watch):
    help_text = "Index new, changed, moved and deleted files in these folders as it happens, until stopped"
    if st.button("Watch the folders", key="library_watch", disabled=indexjob.busy(job) or not online, help=help_text):
        watchjob.start(lib, online + ([extra.strip()] if extra.strip() else []))
        st.rerun()
