"""Decoders turn hostile values into facets and never crash."""

from __future__ import annotations

import base64
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from camaudit.identify import decode
from camaudit.identify.decode import DECODERS, facets
from camaudit.identify.vocabulary import CHANNELS, SMALL_VALUE_CHARS

# Shapes from public samples: the Haicam ProbeMatch comment
# (https://github.com/Haicam/Haicam/blob/HEAD/golang/libs/onvif/haicam_test/discoverytest.go) and
# the Phenomite/AMP-Research DHIP reply.
SADP = (
    '<?xml version="1.0" encoding="utf-8"?><ProbeMatch><Uuid>E8ECFE09</Uuid><Types>inquiry</Types>'
    "<DeviceType>141945</DeviceType><DeviceDescription>DS-2CD2385G1-I</DeviceDescription>"
    "<MAC>58-50-ed-1f-e3-85</MAC><HCPlatformEnable>flase</HCPlatformEnable></ProbeMatch>"
)
DHIP_JSON = (
    '{ "mac" : "4c:11:bf:c2:0b:9d", "method" : "client.notifyDevInfo",'
    ' "params" : { "deviceInfo" : {'
    ' "DeviceClass" : "IPC", "DeviceType" : "IPC-HDW5421S", "HttpPort" : 80, "Vendor" : "Dahua",'
    ' "IPv4Address" : { "DhcpEnable" : false }, "SerialNo" : "1F006E4PAX00075" } } }'
)


def dhip_frame(body: str) -> str:
    """A DHIP datagram as a probe would hand it over: 32-byte header, JSON, trailing junk."""
    size = len(body).to_bytes(4, "little")
    header = b"\x20\x00\x00\x00DHIP" + bytes(8) + size + bytes(4) + size + bytes(4)
    return (header + body.encode() + b"\n\x00").decode("latin-1")


class TestStructuredChannels:
    def test_sadp_yields_one_facet_per_element_plus_the_raw_value(self) -> None:
        """Every SADP element becomes a facet named by its tag; the whole reply stays field ""."""
        found = facets("sadp", SADP)
        assert found[0] == ("", SADP)
        assert ("DeviceDescription", "DS-2CD2385G1-I") in found
        assert ("MAC", "58-50-ed-1f-e3-85") in found

    def test_malformed_sadp_falls_back_to_tag_regex(self) -> None:
        """A truncated reply, as real devices send, still yields its complete elements."""
        broken = SADP[:-30]
        found = facets("sadp", broken)
        assert ("DeviceDescription", "DS-2CD2385G1-I") in found

    def test_xml_entity_bombs_are_refused_not_expanded(self) -> None:
        """defusedxml refuses DTD entities; the fallback regex never expands them."""
        bomb = (
            '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>'
            "<root><Manufacturer>&a;&a;</Manufacturer></root>"
        )
        found = facets("onvif.device_information", bomb)
        assert all("aaaaaaaaaa" not in text for _, text in found[1:])

    def test_dhip_header_is_stripped_and_fields_named_by_last_key(self) -> None:
        """The binary header and trailing bytes go; nested keys flatten to their last component."""
        found = facets("dhip", dhip_frame(DHIP_JSON))
        assert ("DeviceType", "IPC-HDW5421S") in found
        assert ("Vendor", "Dahua") in found
        assert ("mac", "4c:11:bf:c2:0b:9d") in found
        assert ("DhcpEnable", "false") in found
        assert ("HttpPort", "80") in found

    def test_dhip_in_other_notations_uses_the_pair_regex(self) -> None:
        """A Ruby-inspected reply (=> separators) still yields its string fields."""
        ruby = '{"mac"=>"00:1f:54:a9:2e:58",\n# "DeviceType"=>"W461ASC",\n# "Vendor"=>"Lorex"}'
        found = facets("dhip", ruby)
        assert ("Vendor", "Lorex") in found
        assert ("DeviceType", "W461ASC") in found

    def test_upnp_description_uses_local_names(self) -> None:
        """Namespaced UPnP elements are named without their namespace."""
        xml = (
            '<root xmlns="urn:schemas-upnp-org:device-1-0"><device>'
            "<manufacturer>Hikvision</manufacturer><modelName>DS-7608NI</modelName></device></root>"
        )
        found = facets("upnp.description", xml)
        assert ("manufacturer", "Hikvision") in found
        assert ("modelName", "DS-7608NI") in found


class TestTextChannels:
    def test_wsd_scopes_are_split_and_url_decoded(self) -> None:
        """Each scope is its own facet, %20 decoded; the raw value is kept as field ""."""
        raw = (
            "onvif://www.onvif.org/name/HIKVISION%20DS-2CD2385G1-I onvif://www.onvif.org/Profile/T"
        )
        found = facets("wsd.scopes", raw)
        assert found[0] == ("", raw)
        assert ("scope", "onvif://www.onvif.org/name/HIKVISION DS-2CD2385G1-I") in found
        assert ("scope", "onvif://www.onvif.org/Profile/T") in found

    def test_scopes_inside_a_printed_list_or_element_are_the_uris(self) -> None:
        """A Python list, the Scopes element or a comma-joined line: the same two scopes."""
        want = [
            ("scope", "onvif://www.onvif.org/hardware/DS-2CD2043G2-I"),
            ("scope", "onvif://www.onvif.org/name/HIKVISION"),
        ]
        for printed in (
            "['onvif://www.onvif.org/hardware/DS-2CD2043G2-I', 'onvif://www.onvif.org/name/HIKVISION']",
            "<d:Scopes>onvif://www.onvif.org/hardware/DS-2CD2043G2-I onvif://www.onvif.org/name/HIKVISION</d:Scopes>",
            "onvif://www.onvif.org/hardware/DS-2CD2043G2-I, onvif://www.onvif.org/name/HIKVISION",
        ):
            assert facets("wsd.scopes", printed)[1:] == want, printed

    def test_an_avahi_browse_line_and_dns_escapes_give_the_instance_name(self) -> None:
        """avahi-browse pads its columns; avahi and dns-sd print a space as \\032."""
        name = "AXIS M3045-V - ACCC8E012345._axis-video._tcp.local"
        line = "+   eth0 IPv4 AXIS M3045-V - ACCC8E012345          _axis-video._tcp     local"
        assert facets("mdns.service", line) == [("", name)]
        escaped = "AXIS\\032M3045-V\\032-\\032ACCC8E012345._axis-video._tcp.local"
        assert facets("mdns.service", escaped) == [("", name)]
        # An instance name as announced is left as it is.
        assert facets("mdns.service", name) == [("", name)]

    def test_mdns_txt_items_keep_spaces_inside_values(self) -> None:
        """'k=v' items split on whitespace before the next key, so values may contain spaces."""
        found = facets("mdns.txt", "model=AXIS M3045-V macaddress=ACCC8E000001\nvendor=Axis")
        assert ("model", "AXIS M3045-V") in found
        assert ("macaddress", "ACCC8E000001") in found
        assert ("vendor", "Axis") in found

    def test_quoted_txt_items_and_bare_attributes(self) -> None:
        """avahi-browse quotes each item; an item without '=' is an attribute (RFC 6763 6.4)."""
        found = facets("mdns.txt", 'txt = ["model_number=DCS-935L" "fn=Front door" "IC-3115W"]')
        assert found[1:] == [
            ("model_number", "DCS-935L"),
            ("fn", "Front door"),
            ("attribute", "IC-3115W"),
        ]
        assert facets("mdns.txt", "IC-3115W Network Camera")[1:] == [
            ("attribute", "IC-3115W Network Camera")
        ]

    def test_mdns_txt_with_a_long_run_of_spaces_decodes_in_one_pass(self) -> None:
        """A 64 KiB hostile TXT value (a key, then spaces) decodes at once (the old lazy regex
        with a lookahead spent minutes on it, far past the suite's timeout)."""
        hostile = "a=" + " " * (64 * 1024 - 3) + "b"
        found = facets("mdns.txt", hostile)
        assert found[1:] == [("a", "b")]

    def test_mac_is_normalised_and_its_registrant_added(self) -> None:
        """Any MAC spelling becomes lower-case colon form, with the IEEE registrant as a facet."""
        found = facets("mac", "58-50-ED-1F-E3-85")
        assert found[0] == ("", "58:50:ed:1f:e3:85")
        assert ("registrant", "Hangzhou Hikvision Digital Technology Co.,Ltd.") in found

    def test_locally_administered_mac_gets_no_registrant(self) -> None:
        """A randomised MAC is noted, never looked up."""
        found = facets("mac", "02:11:22:33:44:55")
        assert ("locally_administered", "true") in found
        assert not any(name == "registrant" for name, _ in found)

    def test_a_one_line_value_loses_the_blanks_around_it(self) -> None:
        """A Server line or realm pasted with padding is the same value to the anchored rules."""
        assert facets("http.server", "  App-webs/ \t") == [("", "App-webs/")]
        assert facets("http.www_authenticate", ' Digest realm="DVRNVRDVS" ')[0][1].startswith(
            "Digest"
        )

    def test_a_value_written_with_its_header_name_is_the_bare_value(self) -> None:
        """Server, Location, Public, ST, USN and NT lines as people paste them from a capture."""
        assert facets("http.server", "Server: App-webs/") == [("", "App-webs/")]
        assert facets("rtsp.server", "SERVER:Dahua Rtsp Server") == [("", "Dahua Rtsp Server")]
        assert facets("http.location", "location: /doc/page/login.asp")[0] == (
            "",
            "/doc/page/login.asp",
        )
        # An SSDP reply's ST, USN or NT, each with its name, is the bare value.
        usn = "uuid:2f402f80-da50-11e1-9b23-001788255acc::upnp:rootdevice"
        assert facets("ssdp.st", f"USN: {usn}")[0] == ("", usn)
        assert facets("ssdp.st", "NT:upnp:rootdevice")[0] == ("", "upnp:rootdevice")
        # Only the channel's own header name: a Server value that merely has a colon stays whole.
        assert facets("http.server", "Linux/3.10: App-webs/") == [("", "Linux/3.10: App-webs/")]

    def test_a_pasted_header_block_is_the_block_the_device_sent(self) -> None:
        """curl -v, nmap's http-headers script and a printed requests dict are undone."""
        sent = "HTTP/1.1 401 Unauthorized\nServer: App-webs/\n"
        curl = (
            "* Connected\n> GET / HTTP/1.1\n> Host: x\n>\n"
            "< HTTP/1.1 401 Unauthorized\n< Server: App-webs/\n"
        )
        assert facets("http.headers", curl) == [("", sent)]
        nmap = "| http-headers: \n|   Server: App-webs/\n|_  (Request type: HEAD)\n"
        assert "\nServer: App-webs/\n" in facets("http.headers", nmap)[0][1]
        printed = "{'Server': 'App-webs/', 'WWW-Authenticate': 'Basic realm=\"DS-2CD2032-I\"'}"
        assert facets("http.headers", printed) == [
            ("", 'Server: App-webs/\r\nWWW-Authenticate: Basic realm="DS-2CD2032-I"\r\n')
        ]
        # A block as the device sent it is left exactly as it is.
        assert facets("http.headers", sent) == [("", sent)]

    def test_net_snmp_output_is_the_bare_sysdescr(self) -> None:
        """snmpget prints the OID and the type before the text; with or without the MIB loaded."""
        text = "Linux DS-2CD2032-I 3.0.8"
        assert facets("snmp.sysdescr", f"SNMPv2-MIB::sysDescr.0 = STRING: {text}") == [("", text)]
        assert facets("snmp.sysdescr", f'iso.3.6.1.2.1.1.1.0 = STRING: "{text}"') == [("", text)]
        assert facets("snmp.sysdescr", f".1.3.6.1.2.1.1.1.0 = STRING: {text}") == [("", text)]
        # Some agents (old Sony cameras) send the quotes as part of the value.
        assert facets("snmp.sysdescr", f'"{text}"') == [("", text)]
        # A sysDescr that merely has an equals sign is left whole.
        assert facets("snmp.sysdescr", "Build = 5") == [("", "Build = 5")]
        # snmpget -Ov prints only the type before the text.
        assert facets("snmp.sysdescr", f"STRING: {text}") == [("", text)]

    def test_a_header_printed_as_a_dict_item_is_its_bare_value(self) -> None:
        """Python and JSON print a header as 'Server': 'App-webs/' or "Server": "App-webs/"."""
        for printed in ("'Server': 'App-webs/',", '"Server": "App-webs/"', "Server: App-webs/"):
            assert facets("http.server", printed) == [("", "App-webs/")], printed
        # Quotes that belong to the value itself stay when the name was not quoted.
        assert facets("http.server", 'Server: "quoted"') == [("", '"quoted"')]

    def test_a_mac_inside_a_line_of_tool_output_is_read(self) -> None:
        """ifconfig, ip and ipconfig lines: the interface's own address, not the broadcast one."""
        hik = ("", "44:19:b6:4b:f1:a2")
        assert facets("mac", "HWaddr 44:19:B6:4B:F1:A2")[0] == hik
        assert facets("mac", "link/ether 44:19:b6:4b:f1:a2 brd ff:ff:ff:ff:ff:ff")[0] == hik
        assert facets("mac", "Physical Address. . . : 44-19-B6-4B-F1-A2")[0] == hik
        # Words with colons but no address stay as they were.
        assert facets("mac", "ab:cd") == [("", "ab:cd")]

    def test_a_masked_or_prefix_only_mac_still_names_its_oui_registrant(self) -> None:
        """People post their MACs with the device part masked, or only the OUI: the registrant is
        read, but only for a whole 24-bit assignment and never for a locally administered one."""
        hik = ("registrant", "Hangzhou Hikvision Digital Technology Co.,Ltd.")
        for written in ("44:19:b6:xx:xx:xx", "44-19-B6-**-**-**", "44:19:B6", "4419B6"):
            assert facets("mac", written) == [("", written.lower()), hik], written
        # An OUI the IEEE split into MA-M/MA-S blocks cannot say which block: nothing is read.
        assert facets("mac", "b0:b3:53:xx:xx:xx") == [("", "b0:b3:53:xx:xx:xx")]
        assert facets("mac", "02:19:b6:xx:xx:xx") == [("", "02:19:b6:xx:xx:xx")]
        # Four octets are neither a MAC nor an OUI.
        assert facets("mac", "44:19:b6:4b") == [("", "44:19:b6:4b")]

    def test_a_title_in_its_tags_and_an_openssl_dn_are_reduced(self) -> None:
        assert facets("http.title", "<TITLE> WEB SERVICE </TITLE>") == [("", "WEB SERVICE")]
        assert facets("tls.subject", "subject=C = CN, O = Hikvision, CN = 198.51.100.7") == [
            ("", "C=CN, O=Hikvision, CN=198.51.100.7"),
            ("O", "Hikvision"),
            ("CN", "198.51.100.7"),
        ]

    def test_a_certificate_name_gives_its_o_ou_and_cn_in_either_spelling(self) -> None:
        """RFC 4514 with an escaped comma, and OpenSSL's slash form, give the same attributes."""
        rfc = facets(
            "tls.subject", "CN=198.51.100.7,OU=IPC,O=Zhejiang Uniview Technologies Co.\\, Ltd.,C=CN"
        )
        assert rfc[1:] == [
            ("CN", "198.51.100.7"),
            ("OU", "IPC"),
            ("O", "Zhejiang Uniview Technologies Co., Ltd."),
        ]
        slashes = facets("tls.issuer", "/C=CN/ST=ZheJiang/O=Dahua/CN=IPC-HDW1431T1")
        assert slashes[1:] == [("O", "Dahua"), ("CN", "IPC-HDW1431T1")]

    def test_an_eui64_link_local_xaddr_yields_its_mac_and_registrant(self) -> None:
        """RFC 4291 appendix A: ff:fe in the middle, the universal/local bit flipped back."""
        found = facets("wsd.xaddrs", "http://[fe80::4e11:bfff:fec2:b9d]/onvif/device_service")
        assert ("eui64_mac", "4c:11:bf:c2:0b:9d") in found
        assert ("eui64_registrant", "Zhejiang Dahua Technology Co., Ltd.") in found
        # The uncompressed spelling, with a zone, is the same address.
        assert ("eui64_mac", "58:50:ed:1f:e3:85") in facets(
            "wsd.xaddrs", "http://[fe80:0:0:0:5a50:edff:fe1f:e385%25eth0]/onvif/device_service"
        )
        # A privacy address has no ff:fe, so no MAC is read from it.
        assert facets("wsd.xaddrs", "http://[fe80::1234:5678:9abc:def0]/x") == [
            ("", "http://[fe80::1234:5678:9abc:def0]/x")
        ]

    def test_a_body_states_its_model_in_xml_json_or_cgi_lines(self) -> None:
        """Each stated model is a facet for the model grammars; prose and empty values are not."""
        assert ("stated_model", "DS-2CD2142FWD-I") in facets(
            "http.body", "<DeviceInfo><model> DS-2CD2142FWD-I </model></DeviceInfo>"
        )
        assert ("stated_model", "IPC-HDW5421S") in facets(
            "http.body", '{"DeviceType":"IPC-HDW5421S"}'
        )
        assert ("stated_model", "IPC-HDW4631C-A") in facets(
            "http.body", "sn=1\r\ntype=IPC-HDW4631C-A\r\n"
        )
        assert not any(
            name == "stated_model"
            for name, _ in facets("http.body", '<p>type the model</p>{"model":""}')
        )

    def test_a_body_states_maker_mac_and_serial_as_it_states_a_model(self) -> None:
        """The same names in XML, JSON, a printed dict or CGI lines; each in reading order."""
        isapi = (
            "<model>DS-KH6320-WTDE1</model>\n"
            "<serialNumber>DS-KH6320-WTDE10120230110WRQ18479253U</serialNumber>\n"
            "<macAddress>e0:ba:ad:89:80:55</macAddress>"
        )
        assert facets("http.body", isapi)[1:] == [
            ("stated_model", "DS-KH6320-WTDE1"),
            ("stated_serial", "DS-KH6320-WTDE10120230110WRQ18479253U"),
            ("stated_mac", "e0:ba:ad:89:80:55"),
        ]
        axis = '{"propertyList": {"ProdNbr": "M1065-LW", "Brand": "AXIS"}}'
        assert facets("http.body", axis)[1:] == [
            ("stated_model", "M1065-LW"),
            ("stated_brand", "AXIS"),
        ]
        assert ("stated_model", "XN-100") in facets("http.body", "<MODEL>XN-100</MODEL>")
        printed = "{'Manufacturer': 'HIKVISION', 'Model': DS-2DF7286-A}"
        assert ("stated_brand", "HIKVISION") in facets("http.body", printed)
        assert ("stated_model", "DS-2DF7286-A") in facets("http.body", printed)

    def test_an_information_page_states_them_to_a_person_in_cells_lines_or_named_elements(
        self,
    ) -> None:
        """A table row, a definition list, a "Label: value" line or an element whose id names its
        content; labels run their words together ("Serial No." is serialno)."""
        row = '<tr><td class="l">Model</td><td class="r">DS-2CD2143G2-IS</td></tr>'
        assert facets("http.body", row)[1:] == [("stated_model", "DS-2CD2143G2-IS")]
        listing = "<dt>Model Number:</dt><dd>IPC-HDW2431T-AS</dd>"
        assert facets("http.body", listing)[1:] == [("stated_model", "IPC-HDW2431T-AS")]
        lines = "<p>Device Model: DHI-NVR4208-8P-4KS2</p><p>Serial No.: 6J0ABCD1234567</p>"
        assert facets("http.body", lines)[1:] == [
            ("stated_model", "DHI-NVR4208-8P-4KS2"),
            ("stated_serial", "6J0ABCD1234567"),
        ]
        named = '<span id="mac-address">44:19:b6:00:00:01</span>'
        assert facets("http.body", named)[1:] == [("stated_mac", "44:19:b6:00:00:01")]
        # Labels that are not these names state nothing.
        other = "<td>Firmware</td><td>V5.5.0</td><p>Username: admin</p><div id='login'>x</div>"
        assert facets("http.body", other)[1:] == []

    def test_model_numbers_named_in_prose_are_offered_to_the_model_grammars(self) -> None:
        """Model-shaped words, once each (a serial that extends a model is that model); standards
        sharing the shape are skipped, and a page naming three models names none."""
        page = '<meta charset="UTF-8"><h1>DS-2CD2146G2-ISU</h1>sn DS-2CD2146G2-ISU20200101AAWR1'
        assert [f for f in facets("http.body", page) if f[0] == "text_model"] == [
            ("text_model", "DS-2CD2146G2-ISU")
        ]
        listing = "<li>DS-2CD2143G2-IS</li><li>IPC-HDW2431T-AS</li><li>DS-7608NI-K2</li>"
        assert not [f for f in facets("http.body", listing) if f[0] == "text_model"]
        assert not [
            f for f in facets("http.body", "ISO-8859-1, SHA-256, H-264") if f[0] == "text_model"
        ]

    def test_a_body_quoted_in_a_log_line_is_read_as_the_page_it_stands_for(self) -> None:
        """Escaped line breaks and quotes (\\r\\n, \\") become the page's own; a page with a real
        line break, or a single escape in a script, is left as it came."""
        printed = r"<html>\r\n<body class=\"login\">\r\n<h2>Access Error</h2>\n</body>"
        assert facets("http.body", printed)[0] == (
            "",
            '<html>\r\n<body class="login">\r\n<h2>Access Error</h2>\n</body>',
        )
        real = '<html>\n<script>var s = "a\\nb\\nc";</script>'
        assert facets("http.body", real)[0] == ("", real)
        one = r'<script>var s = "a\nb";</script>'
        assert facets("http.body", one)[0] == ("", one)
        # A header block quoted the same way is the block the device sent.
        block = r"HTTP/1.0 302 Redirect\r\nServer: Hikvision-Webs\r\nDate: Mon"
        assert facets("http.headers", block) == [
            ("", "HTTP/1.0 302 Redirect\r\nServer: Hikvision-Webs\r\nDate: Mon")
        ]

    def test_a_list_of_other_devices_states_nothing_about_this_one(self) -> None:
        """A router's client table or a recorder's channel list names many MACs and models; none
        is the device's own, so a kind stated more than twice is dropped."""
        clients = ",".join(
            f'{{"mac": "44:19:b6:00:00:0{i}", "model": "DS-2CD20{i}"}}' for i in range(3)
        )
        assert facets("http.body", f'{{"clients": [{clients}]}}')[1:] == []
        # A device that states its wired and wireless MAC keeps both.
        both = '{"mac": "44:19:b6:00:00:01", "macAddress": "44:19:b6:00:00:02"}'
        assert len(facets("http.body", both)[1:]) == 2

    def test_a_homekit_accessory_dump_states_maker_and_model_by_characteristic_type(self) -> None:
        """HAP characteristic 0x20 is the manufacturer, 0x21 the model, in either key order."""
        dump = (
            '[{"iid": 3, "type": "00000020-0000-1000-8000-0026BB765291", "value": "Anker"},'
            ' {"value": "T8113", "type": "00000021-0000-1000-8000-0026BB765291", "iid": 4},'
            ' {"type": "00000023-0000-1000-8000-0026BB765291", "value": "eufyCam2"}]'
        )
        assert facets("http.body", dump)[1:] == [
            ("stated_brand", "Anker"),
            ("stated_model", "T8113"),
        ]

    def test_a_device_document_pasted_as_lines_or_an_object_keeps_its_fields(self) -> None:
        """python-onvif prints GetDeviceInformation as an object; people paste it as lines."""
        printed = (
            "{'Model': DS-2DF7286-A, 'FirmwareVersion': V5.1.8 build 140616, "
            "'Manufacturer': HIKVISION}"
        )
        found = facets("onvif.device_information", printed)
        assert ("Manufacturer", "HIKVISION") in found
        assert ("FirmwareVersion", "V5.1.8 build 140616") in found
        lines = facets("onvif.device_information", "Manufacturer: AXIS\nModel: M3045-V")
        assert lines[1:] == [("Manufacturer", "AXIS"), ("Model", "M3045-V")]
        # Only GetDeviceInformation's fields are renamed: a pasted UPnP description keeps the
        # lower-case names its own rules read.
        upnp = facets("upnp.description", "manufacturer: Acme\nmodelName: XN-100")
        assert upnp[1:] == [("manufacturer", "Acme"), ("modelName", "XN-100")]

    def test_device_information_printed_by_go_joined_or_as_a_table_keeps_its_fields(self) -> None:
        """Go's %+v, a "; "-joined line and a Markdown table row each give the same fields."""
        want = [("Manufacturer", "HIKVISION"), ("Model", "DS-2CD2043G2-I")]
        for printed in (
            "{Manufacturer:HIKVISION Model:DS-2CD2043G2-I}",
            "Manufacturer: HIKVISION; Model: DS-2CD2043G2-I",
            "| Manufacturer | HIKVISION |\n| Model | DS-2CD2043G2-I |",
        ):
            assert facets("onvif.device_information", printed)[1:] == want, printed
        # A field name inside a value is only a field where a separator follows it.
        found = facets("onvif.device_information", "Manufacturer: Model Works Ltd")
        assert found[1:] == [("Manufacturer", "Model Works Ltd")]

    def test_a_document_keeps_its_blanks(self) -> None:
        """Bodies and header blocks are searched as sent: their layout is evidence."""
        assert facets("http.body", "  <html>\n")[0] == ("", "  <html>\n")

    def test_single_line_values_are_truncated_before_matching(self) -> None:
        """A hostile 1 MB Server header is cut to 1 KiB."""
        [(_, text)] = facets("http.server", "A" * 1_000_000)
        assert len(text) == SMALL_VALUE_CHARS


@settings(max_examples=150, deadline=None)
@given(channel=st.sampled_from(sorted(CHANNELS)), raw=st.binary(max_size=2048))
def test_random_bytes_never_crash_any_decoder(channel: str, raw: bytes) -> None:
    """Whatever arrives, decoding returns (field, text) pairs with the raw value first."""
    value = raw.decode("latin-1")
    found = facets(channel, value)
    assert found
    assert all(isinstance(f, str) and isinstance(t, str) for f, t in found)


@settings(max_examples=150, deadline=None)
@given(channel=st.sampled_from(sorted(DECODERS)), text=st.text(max_size=1024))
def test_random_text_never_crashes_structured_decoders(channel: str, text: str) -> None:
    """Random unicode, including broken XML and JSON, decodes without raising."""
    assert decode.facets(channel, "<a>" + text + '{"k":' + text)


# The item grammar as a (quadratic) regex: the linear reader must split lines exactly as it does.
MDNS_ITEM_GRAMMAR = re.compile(r"([^\s=]+)=(.*?)(?=\s+[^\s=]+=|\s*$)")


@settings(max_examples=300, deadline=None)
@given(line=st.text(alphabet=" \t=ab\u00a0", max_size=40))
def test_mdns_items_follow_the_item_grammar(line: str) -> None:
    """Keys, values with inner spaces, stray "=" words: the same items as the grammar yields."""
    assert decode.mdns_items(line) == MDNS_ITEM_GRAMMAR.findall(line.strip())


@settings(max_examples=100, deadline=None)
@given(
    body=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda kids: (
            st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
        ),
        max_leaves=30,
    )
)
def test_any_json_shape_flattens_without_crashing(body: object) -> None:
    """Deeply odd JSON (lists, nulls, nesting) flattens to string facets."""
    import json

    found = facets("dhip", dhip_frame(json.dumps({"params": body})))
    assert all(isinstance(t, str) for _, t in found)


def test_b64_examples_round_trip_binary_frames() -> None:
    """A framed DHIP reply survives base64 (how fingerprint examples carry binary) and decodes."""
    frame = dhip_frame(DHIP_JSON)
    again = base64.b64decode(base64.b64encode(frame.encode("latin-1"))).decode("latin-1")
    assert ("Vendor", "Dahua") in facets("dhip", again)


class TestChallengeSpelling:
    """RFC 9110 §11: header name, scheme and parameter names are case-insensitive, a value may be
    a bare token; every spelling of one challenge reads the same to the rules."""

    CANONICAL = 'Digest realm="DS-2CD2142FWD-I", qop="auth"'

    def test_spellings_of_one_challenge_become_one(self) -> None:
        for spelling in (
            'www-authenticate: digest realm="DS-2CD2142FWD-I", qop="auth"',
            'WWW-Authenticate:Digest REALM="DS-2CD2142FWD-I", qop="auth"',
            "DIGEST realm='DS-2CD2142FWD-I', qop=\"auth\"",
            'Digest realm=DS-2CD2142FWD-I, qop="auth"',
        ):
            assert decode.canonical_challenge(spelling) == self.CANONICAL, spelling

    def test_a_challenge_inside_a_tools_quoting_is_taken_out_of_it(self) -> None:
        """Logs print the header as a JSON string, a Python list, bytes or a dict item."""
        for printed in (
            'Digest realm=\\"DS-2CD2142FWD-I\\", qop=\\"auth\\"',
            '[\'Digest realm="DS-2CD2142FWD-I", qop="auth"\']',
            'b\'Digest realm="DS-2CD2142FWD-I", qop="auth"\'',
            "{'www-authenticate': 'Digest realm=\"DS-2CD2142FWD-I\", qop=\"auth\"'}",
        ):
            assert decode.canonical_challenge(printed) == self.CANONICAL, printed
        # Text before the scheme that is not a tool's quoting stays: it is part of the value.
        two = 'Negotiate, Digest realm="DS-2CD2142FWD-I", qop="auth"'
        assert decode.canonical_challenge(two) == two

    def test_a_bare_realm_with_spaces_is_left_for_the_rules_that_read_it(self) -> None:
        assert decode.canonical_challenge("basic realm=IP Camera") == "Basic realm=IP Camera"

    def test_both_challenge_channels_are_read_in_the_canonical_spelling(self) -> None:
        for channel in ("http.www_authenticate", "rtsp.www_authenticate"):
            assert facets(channel, "digest realm=x") == [
                ("", 'Digest realm="x"'),
                ("layout", 'Digest realm="x"'),
            ]
