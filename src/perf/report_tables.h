// The table and page helpers the HTML/Markdown reports share (bench, load,
// cost, tune): a table is rows of cells, the first row the header. Every
// user string is escaped. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kamado::perf {

using Table = std::vector<std::vector<std::string>>;

// `flag_column`: a column whose "no" cells are highlighted (the levels' "stable").
std::string HtmlTable(const Table& t, std::string_view css_class, int flag_column = -1);
// A cell with '|' escaped and line breaks as spaces.
std::string MarkdownCell(std::string_view s);
// First column left-aligned, the others right-aligned.
std::string MarkdownTable(const Table& t);
// Columns padded to their widest cell, two spaces apart, for a terminal.
std::string TextTable(const Table& t);
// "<!DOCTYPE html>...<body><h1>title</h1>" with the shared style sheet and
// the command (verbatim) when it is not empty; HtmlPageEnd closes it.
std::string HtmlPageStart(std::string_view title, std::string_view command);
std::string HtmlPageEnd();

}  // namespace kamado::perf
