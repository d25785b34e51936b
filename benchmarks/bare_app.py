"""The baseline of benchmarks/browser.py: a bare Streamlit page with one text input."""

import streamlit as st

query = st.text_input("Søk", key="q")
st.markdown(f"Svar: {query}")
