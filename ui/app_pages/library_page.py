"""Library: roots, counts, model, index parameters, failures; start an index run and watch it."""

import streamlit as st

from indexer.library import library_status
from ui import handles, indexjob

st.title("Library")
lib = handles.library()
searcher = handles.searcher()
with handles.explained():
    info = library_status(lib, max_failures=200)

files = info["counts"]["files"]
st.caption(str(lib))
cols = st.columns(4)
cols[0].metric("files indexed", files["ok"])
cols[1].metric("distinct images", info["counts"]["images"])
cols[2].metric("failed", files["failed"])
cols[3].metric("missing", files["missing"])
model, index = info["model"], info["index"]
st.subheader("Folders")
st.dataframe({"folder": info["roots"]}, hide_index=True, width="stretch")
st.subheader("Model and index")
st.write(f"**{model['name']}** ({model['dim']}-d, weights {model['weights_sha256'][:12]}, runtime {model['runtime']})")
st.dataframe([index or {"index": "not built yet"}], hide_index=True, width="stretch")
if info["last_run"]:
    last = info["last_run"]
    counts = ", ".join(f"{k} {v}" for k, v in last["counts"].items())
    st.caption(f"last run {last['started_at']}: {last['status']}, {counts}")
st.subheader("Failures")
if info["failures"]:
    st.dataframe(info["failures"], hide_index=True, width="stretch")
else:
    st.write("No file failed.")

st.subheader("Index")
job = indexjob.read_job(lib)


@st.fragment(run_every=1.0 if indexjob.busy(job) else None)
def progress() -> None:
    now = indexjob.read_job(lib)
    if indexjob.busy(now):
        total, done = now.get("total", 0), now.get("done", 0)
        st.progress(done / total if total else 0.0, text=f"indexing: {done} of {total or '?'} files")
    elif now is not None:
        shown = {k: v for k, v in now.get("summary", {}).items() if k not in ("failures", "stages")}
        st.write(f"last run from here: **{now['state']}** {now.get('message', '')} {shown or ''}")
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
