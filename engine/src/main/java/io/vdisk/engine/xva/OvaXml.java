package io.vdisk.engine.xva;

import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

/**
 * ova.xml's XML-RPC as xapi's rpclib writes it (non-strict {@code Xmlrpc.to_string}): one line, no
 * declaration, numbers and strings as untyped {@code <value>}s, {@code <boolean>0|1</boolean>},
 * {@code <double>}, {@code <dateTime.iso8601>}, {@code <struct>} and {@code <array><data>}.
 *
 * <p>Values in Java: {@link String} (also for untyped numbers, as rpclib reads them), {@link Long}
 * (written untyped), {@link Boolean}, {@link Double}, {@link DateTime}, {@link Map} (struct,
 * insertion order kept), {@link List} (array) and {@code null} (nil).
 *
 * <p>Reading refuses any DTD and entity reference (no entity is ever resolved), documents over
 * {@link #MAX_BYTES} and nesting past {@link #MAX_DEPTH}.
 */
public final class OvaXml {
  /** Largest ova.xml read: real ones are tens of KiB. */
  public static final int MAX_BYTES = 16 << 20;

  /** An XML-RPC dateTime.iso8601 value, e.g. {@code 19700101T00:00:00Z}. */
  public record DateTime(String text) {}

  private OvaXml() {}

  public static String write(Object value) {
    StringBuilder sb = new StringBuilder();
    value(sb, value);
    return sb.toString();
  }

  private static void value(StringBuilder sb, Object v) {
    if ("".equals(v)) {
      sb.append("<value/>"); // rpclib's form of the empty string
      return;
    }
    sb.append("<value>");
    if (v == null) {
      sb.append("<nil/>");
    } else if (v instanceof String s) {
      escape(sb, s);
    } else if (v instanceof Long || v instanceof Integer) {
      sb.append(v);
    } else if (v instanceof Boolean b) {
      sb.append("<boolean>").append(b ? '1' : '0').append("</boolean>");
    } else if (v instanceof Double d) {
      sb.append("<double>").append(formatDouble(d)).append("</double>");
    } else if (v instanceof DateTime t) {
      sb.append("<dateTime.iso8601>").append(t.text()).append("</dateTime.iso8601>");
    } else if (v instanceof Map<?, ?> m) {
      if (m.isEmpty()) {
        sb.append("<struct/>");
      } else {
        sb.append("<struct>");
        for (Map.Entry<?, ?> e : m.entrySet()) {
          sb.append("<member><name>");
          escape(sb, String.valueOf(e.getKey()));
          sb.append("</name>");
          value(sb, e.getValue());
          sb.append("</member>");
        }
        sb.append("</struct>");
      }
    } else if (v instanceof List<?> l) {
      if (l.isEmpty()) {
        sb.append("<array><data/></array>");
      } else {
        sb.append("<array><data>");
        for (Object o : l) {
          value(sb, o);
        }
        sb.append("</data></array>");
      }
    } else {
      throw new IllegalArgumentException("no XML-RPC form for " + v.getClass());
    }
    sb.append("</value>");
  }

  /** OCaml's %.16g for the values ova.xml holds (1 → "1", 0.5 → "0.5"). */
  private static String formatDouble(double d) {
    if (d == Math.rint(d) && Math.abs(d) < 1e15) {
      return Long.toString((long) d);
    }
    return Double.toString(d);
  }

  /**
   * rpclib escapes {@code > < & "} and drops control characters below 0x20 other than TAB, LF and
   * CR; member names are escaped here too (rpclib does not, which can break the XML).
   */
  private static void escape(StringBuilder sb, String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '<' -> sb.append("&lt;");
        case '>' -> sb.append("&gt;");
        case '&' -> sb.append("&amp;");
        case '"' -> sb.append("&quot;");
        default -> {
          if (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') {
            sb.append(c);
          }
        }
      }
    }
  }

  /** Deepest nesting of structs and arrays read: real ova.xml files are 4 or 5 deep. */
  public static final int MAX_DEPTH = 64;

  /**
   * Parses one top-level {@code <value>}, streaming (StAX): no document tree, each leaf's text read
   * once, nesting bounded by {@link #MAX_DEPTH} (so no input can exhaust the stack), DTDs and
   * entity references refused.
   */
  public static Object parse(byte[] xml) throws XvaException {
    if (xml.length > MAX_BYTES) {
      throw new XvaException("ova.xml: " + xml.length + " bytes is over the limit of " + MAX_BYTES);
    }
    try {
      XMLStreamReader r = factory().createXMLStreamReader(new ByteArrayInputStream(xml));
      try {
        int ev = nextTag(r);
        if (ev != XMLStreamConstants.START_ELEMENT || !r.getLocalName().equals("value")) {
          String root = ev == XMLStreamConstants.START_ELEMENT ? r.getLocalName() : "nothing";
          throw new XvaException(
              "ova.xml: root element is <"
                  + io.vdisk.engine.io.Printable.of(root)
                  + ">, expected <value>"
                  + (root.equals("appliance")
                      ? " (a version 1 'Zurich' XVA, which xapi no longer imports either)"
                      : ""));
        }
        Object v = value(r, 0);
        while (r.hasNext()) {
          int e = r.next();
          if (e == XMLStreamConstants.START_ELEMENT || e == XMLStreamConstants.DTD) {
            throw new XvaException("ova.xml: content after the top-level <value>");
          }
        }
        return v;
      } finally {
        r.close();
      }
    } catch (XMLStreamException | RuntimeException e) {
      throw new XvaException(
          "ova.xml: not well-formed or not allowed: "
              + io.vdisk.engine.io.Printable.of(e.getMessage()),
          e);
    }
  }

  private static XMLInputFactory factory() {
    XMLInputFactory f = XMLInputFactory.newFactory();
    f.setProperty(XMLInputFactory.SUPPORT_DTD, false);
    f.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
    f.setProperty(XMLInputFactory.IS_NAMESPACE_AWARE, false);
    f.setProperty(XMLInputFactory.IS_COALESCING, true);
    return f;
  }

  /** The next start or end tag, refusing DTDs and entity references on the way. */
  private static int nextTag(XMLStreamReader r) throws XMLStreamException, XvaException {
    while (r.hasNext()) {
      int e = r.next();
      switch (e) {
        case XMLStreamConstants.START_ELEMENT, XMLStreamConstants.END_ELEMENT:
          return e;
        case XMLStreamConstants.DTD:
          throw new XvaException(
              "ova.xml: a DOCTYPE (DTD) is not allowed: entities are never resolved");
        case XMLStreamConstants.ENTITY_REFERENCE:
          throw new XvaException("ova.xml: entity references are not allowed");
        default:
          break; // text between tags, comments, processing instructions
      }
    }
    return XMLStreamConstants.END_DOCUMENT;
  }

  /** A {@code <value>}, the reader at its start tag; leaves the reader at its end tag. */
  private static Object value(XMLStreamReader r, int depth)
      throws XMLStreamException, XvaException {
    if (depth > MAX_DEPTH) {
      throw new XvaException("ova.xml: values nested deeper than " + MAX_DEPTH);
    }
    StringBuilder text = new StringBuilder();
    Object typed = null;
    boolean isTyped = false;
    while (r.hasNext()) {
      int e = r.next();
      switch (e) {
        case XMLStreamConstants.CHARACTERS, XMLStreamConstants.CDATA, XMLStreamConstants.SPACE:
          if (!isTyped) {
            text.append(r.getText());
          }
          break;
        case XMLStreamConstants.START_ELEMENT:
          if (isTyped) {
            throw new XvaException("ova.xml: <value> holds more than one value");
          }
          typed = typed(r, depth);
          isTyped = true;
          break;
        case XMLStreamConstants.END_ELEMENT:
          return isTyped ? typed : text.toString();
        case XMLStreamConstants.DTD:
          throw new XvaException(
              "ova.xml: a DOCTYPE (DTD) is not allowed: entities are never resolved");
        case XMLStreamConstants.ENTITY_REFERENCE:
          throw new XvaException("ova.xml: entity references are not allowed");
        default:
          break;
      }
    }
    throw new XvaException("ova.xml: ends inside a <value>");
  }

  /** A typed value, the reader at its start tag; leaves it at the type's end tag. */
  private static Object typed(XMLStreamReader r, int depth)
      throws XMLStreamException, XvaException {
    String tag = r.getLocalName();
    switch (tag) {
      case "string":
        return r.getElementText();
      case "int":
      case "i4":
      case "i8":
        return r.getElementText().trim();
      case "boolean":
        // rpclib: only "1" is true; "true" reads as false.
        return r.getElementText().trim().equals("1");
      case "double":
        String d = r.getElementText().trim();
        try {
          return Double.parseDouble(d);
        } catch (NumberFormatException e) {
          throw new XvaException(
              "ova.xml: bad <double> '" + io.vdisk.engine.io.Printable.of(d) + "'");
        }
      case "dateTime.iso8601":
        return new DateTime(r.getElementText().trim());
      case "nil":
        if (nextTag(r) != XMLStreamConstants.END_ELEMENT) {
          throw new XvaException("ova.xml: <nil> is not empty");
        }
        return null;
      case "struct":
        Map<String, Object> m = new LinkedHashMap<>();
        while (nextTag(r) == XMLStreamConstants.START_ELEMENT) {
          if (!r.getLocalName().equals("member")
              || nextTag(r) != XMLStreamConstants.START_ELEMENT
              || !r.getLocalName().equals("name")) {
            throw new XvaException("ova.xml: <member> without <name> and <value>");
          }
          String name = r.getElementText();
          if (nextTag(r) != XMLStreamConstants.START_ELEMENT || !r.getLocalName().equals("value")) {
            throw new XvaException("ova.xml: <member> without <name> and <value>");
          }
          m.put(name, value(r, depth + 1));
          if (nextTag(r) != XMLStreamConstants.END_ELEMENT) {
            throw new XvaException("ova.xml: <member> holds more than a name and a value");
          }
        }
        return m;
      case "array":
        List<Object> l = new ArrayList<>();
        if (nextTag(r) == XMLStreamConstants.START_ELEMENT) {
          if (!r.getLocalName().equals("data")) {
            throw new XvaException("ova.xml: <array> without <data>");
          }
          while (nextTag(r) == XMLStreamConstants.START_ELEMENT) {
            if (!r.getLocalName().equals("value")) {
              throw new XvaException("ova.xml: <data> holds <" + r.getLocalName() + ">");
            }
            l.add(value(r, depth + 1));
          }
          nextTag(r); // </array>
        }
        return l;
      default:
        throw new XvaException(
            "ova.xml: unknown XML-RPC type <" + io.vdisk.engine.io.Printable.of(tag) + ">");
    }
  }
}
