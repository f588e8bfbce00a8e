"""Streamlit entry: page config, shared filters, sign-in, navigation — nothing else (pages: dashboards/pages/)."""

import streamlit as st

from dashboards import auth, filters

PAGES = [
    ("dashboards/pages/overview.py", "Overview", "overview"),
    ("dashboards/pages/migration.py", "GCP vs Databricks", "migration"),
    ("dashboards/pages/savings.py", "Savings", "savings"),
    ("dashboards/pages/budgets.py", "Budgets & credits", "budgets"),
    ("dashboards/pages/live.py", "Live estimate", "live"),
    ("dashboards/pages/gpu.py", "GPU efficiency", "gpu"),
    ("dashboards/pages/network.py", "Network", "network"),
    ("dashboards/pages/alerts.py", "Alerts & actions", "alerts"),
]

st.set_page_config(page_title="spendscope", page_icon="💸", layout="wide")
st.sidebar.title("spendscope")
filters.sidebar()
auth.sign_in_widget()
pages = [st.Page(path, title=title, url_path=url, default=(url == "overview")) for path, title, url in PAGES]
st.navigation(pages).run()
