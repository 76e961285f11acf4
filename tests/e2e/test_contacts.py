"""Contacts through the real binary: the CLI import with its progress and report, then the API."""

from messaging_support import admin_key


def test_cli_import_reports_rows_and_the_api_sees_them(herald, tmp_path):
    headers = admin_key(herald)
    rows = ["phone,first_name,tags,plan"]
    rows += [f"+1415{2000000 + i},Person {i},cli;e2e,{'pro' if i % 2 else 'free'}" for i in range(3000)]
    rows += ["not-a-number,Broken,,", "+14152000001,Duplicate,,", '"+14159999999,unclosed']
    csv = tmp_path / "contacts.csv"
    csv.write_text("\n".join(rows) + "\n")

    result = herald.cli("contacts", "import", str(csv), "--country", "US", "--tag", "spring")
    assert result.returncode == 0, result.stderr
    assert "3,003 rows — 3,000 new, 0 updated, 0 unchanged, 3 rejected." in result.stdout
    assert "line 3002 (phone):" in result.stdout
    assert "line 3003 (phone): repeats the number of line 3" in result.stdout
    assert "line 3004: a quoted field is not closed" in result.stdout
    # Without a terminal the bar is printed as lines on standard error, ending with the merge.
    assert "rows" in result.stderr and "merging" in result.stderr and "100%" in result.stderr

    # Importing it again changes nothing.
    again = herald.cli("contacts", "import", str(csv), "--country", "US", "--tag", "spring")
    assert "0 new, 0 updated, 3,000 unchanged, 3 rejected." in again.stdout

    listed = herald.get("/v1/contacts?tag=spring&limit=5", headers=headers).json()
    assert len(listed["data"]) == 5 and listed["next_cursor"]
    assert set(listed["data"][0]["tags"]) == {"cli", "e2e", "spring"}
    imports = herald.get("/v1/imports", headers=headers).json()["data"]
    assert [i["imported"] for i in imports] == [0, 3000]

    # The HTTP import of a second file, with the dashboard's content type.
    response = herald.request("POST", "/v1/imports?tags=http", data="phone,first_name\n+14155550199,Api\n",
                              headers={**headers, "Content-Type": "text/csv"})
    assert response.status_code == 202, response.text
    assert response.json()["imported"] == 1
