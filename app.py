"""Streamlit entry: page config, shared filters, navigation — nothing else (pages live in dashboards/)."""

import streamlit as st

from dashboards import filters, overview

st.set_page_config(page_title="spendscope", page_icon="💸", layout="wide")
st.sidebar.title("spendscope")
filters.sidebar()
page = st.navigation([st.Page(overview.render, title="Overview", url_path="overview", default=True)])
page.run()
