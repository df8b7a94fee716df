"""Streamlit glue for the coverage maps (地图, 规划方案): cached view layers, the basemap choice,
the drill-down breadcrumb, and drawing a map as two elements.

How a map is sent (see `geodata.webmap.map_frame` / `style_payload`):
1. the frame (`frame`: the map component of static/mz-map/frame/): the view's township or district
   layer, facilities, tiles, controls;
   built from a layer cached per dataset, view and display system (`layer`), and identical from
   one rerun to the next, so Streamlit sends it as a reference to the copy the browser already
   holds (its ForwardMsg cache): a click or an indicator change re-sends no geometry;
2. the style (`st.html` with a small script): fill class per township, tooltip rows, legend,
   visible facility classes, planned sites, service areas; the map restyles itself in place.
A new view (drill-down, another district, another basemap) sends a new frame once.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st
import streamlit.components.v1 as components

from geodata.basemaps import DEFAULT_BASEMAP, Basemap, choice_labels, load_basemaps, missing_key
from geodata.mapview import MapLayer, breadcrumb, build_layer, scope_label, scope_options
from geodata.webmap import clicked_area_code, style_script
from pages import _shared

#: Secrets (`.streamlit/secrets.toml`) holding basemap keys.
KEY_SECRETS = ("tianditu_key",)
HIDE_STYLE_CSS = "<style>.st-key-mz_map_style { display: none; }</style>"
#: The map component (static/mz-map/frame/index.html); its frame's title ends in ".mz_map".
_MAP_COMPONENT = components.declare_component(
    "mz_map", path=str(Path(__file__).resolve().parents[1] / "static" / "mz-map" / "frame"))


@st.cache_resource(show_spinner="正在准备地图图层…", max_entries=32)
def _layer(data_key: tuple, scope: str, system: str, _units) -> MapLayer:
    return build_layer(_units, scope, system=system)


def layer(units, scope: str, system: str) -> MapLayer:
    """The drawn layer of `scope` (`geodata.mapview.build_layer`), cached per dataset (its file
    key), scope and display system."""
    return _layer(_shared._dataset_key(), scope, system, units)


@st.cache_data(max_entries=4)
def _scopes(data_key: tuple, _units) -> dict[str, str]:
    return scope_options(_units)


def scopes(units) -> dict[str, str]:
    """Scope code -> label for the 区县 choice (cached per dataset)."""
    return _scopes(_shared._dataset_key(), units)


@st.cache_resource
def basemaps() -> dict[str, Basemap]:
    return load_basemaps()


def secret_keys() -> dict[str, str]:
    """Basemap keys from st.secrets ({} when there is no secrets file)."""
    out = {}
    for name in KEY_SECRETS:
        try:
            value = st.secrets.get(name)
        except FileNotFoundError:  # StreamlitSecretNotFoundError: no secrets.toml at all
            value = None
        if value:
            out[name] = str(value)
    return out


def basemap_choice(column, key: str = "map_basemap") -> tuple[Basemap, str | None]:
    """The 底图 selectbox in `column`; returns the basemap to draw and its key. A basemap whose key
    is missing falls back to none, with a note on how to configure it."""
    catalogue, keys = basemaps(), secret_keys()
    labels = choice_labels(catalogue, keys)
    chosen = column.selectbox("底图", list(labels), format_func=labels.get,
                              help="默认无底图(离线可用, 不向外发送任何请求)。选择在线底图后, 浏览器才会向该服务商请求瓦片。",
                              **_shared.remembered(key, DEFAULT_BASEMAP, list(labels)))
    basemap = catalogue[chosen]
    if missing_key(basemap, keys):
        st.info(f"「{basemap.label}」需要密钥: 请在 .streamlit/secrets.toml 中加入 {basemap.key_secret} = \"你的密钥\""
                "(在服务商网站免费申请「浏览器端」密钥), 然后重新打开本页。暂按无底图显示。")
        return catalogue[DEFAULT_BASEMAP], None
    if basemap.note and basemap.tiles:
        st.caption(f"底图「{basemap.label}」: {basemap.note}。")
    return basemap, keys.get(basemap.key_secret) if basemap.key_secret else None


@st.cache_data(max_entries=64)
def _trail(data_key: tuple, scope: str, _units) -> list[tuple[str, str]]:
    return breadcrumb(_units, scope)


@st.cache_data(max_entries=64)
def _label(data_key: tuple, scope: str, _units) -> str:
    return scope_label(_units, scope)


def label(units, scope: str) -> str:
    """`geodata.mapview.scope_label` (全部, 某某市, 某某区), cached per dataset and scope."""
    return _label(_shared._dataset_key(), scope, units)


def show_breadcrumb(units, scope: str, state_key: str) -> None:
    """全部 › 某某市 › 某某区 as buttons above the map (nothing at the top level)."""
    trail = _trail(_shared._dataset_key(), scope, units) if scope else [("", "全部")]
    if len(trail) <= 1:
        return
    with st.container(horizontal=True, key=f"{state_key}_crumbs", gap="small", vertical_alignment="center"):
        for i, (code, label) in enumerate(trail):
            last = i == len(trail) - 1
            st.button(_shared.esc(label), key=f"{state_key}_crumb_{i}", disabled=last, type="tertiary",
                      on_click=_set_scope, args=(state_key, code))
            if not last:
                st.markdown("›")


def _set_scope(state_key: str, scope: str) -> None:
    st.session_state[state_key] = scope


def drill_on_area_click(map_key: str, state_key: str, allowed: dict[str, str]) -> Callable[[], None]:
    """A callback for `frame(on_change=...)`: a click on a district / city sets the scope."""
    def callback() -> None:
        area = clicked_area_code(st.session_state.get(map_key))
        if area is not None and area in allowed:
            st.session_state[state_key] = area
    return callback


def style(container, key: str, payload: dict) -> None:
    """The map's style as a hidden st.html script in `container` (see `geodata.webmap.style_script`)."""
    seq = st.session_state.get("_mz_style_seq", 0) + 1
    st.session_state["_mz_style_seq"] = seq
    with container.container(key="mz_map_style"):
        st.html(style_script(key, payload, seq) + HIDE_STYLE_CSS, unsafe_allow_javascript=True)


def frame(parts: dict, *, key: str, height: int, returned_objects: list[str], on_change=None) -> dict:
    """Draw the map frame `parts` (`geodata.webmap.map_frame_parts`) and return its value: the
    `returned_objects` of the last click ("last_active_drawing": the feature's GeoJSON, "last_clicked":
    {lat, lng}), None before any. The value is also kept in `st.session_state[key]`.

    The same map from one run to the next is the same element (`geodata.webmap.frame_parts`), so
    Streamlit sends a reference and the browser keeps the drawn map; a new view (its digest) is a
    new frame. The component replaces streamlit-folium's frame for these maps: the scripts load
    while the page starts and it sends one value per click (static/mz-map/README.md)."""
    inner = f"{key}__view_{parts['digest']}"

    def changed() -> None:
        st.session_state[key] = st.session_state.get(inner) or {}
        if on_change is not None:
            on_change()

    value = _MAP_COMPONENT(**parts, height=height, returned=list(returned_objects), key=inner,
                           default={name: None for name in returned_objects}, on_change=changed)
    return value or {}
