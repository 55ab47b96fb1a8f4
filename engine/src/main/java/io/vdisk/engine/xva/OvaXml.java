package io.vdisk.engine.xva;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.SAXException;

/**
 * ova.xml's XML-RPC as xapi's rpclib writes it (non-strict {@code Xmlrpc.to_string}): one line, no
 * declaration, numbers and strings as untyped {@code <value>}s, {@code <boolean>0|1</boolean>},
 * {@code <double>}, {@code <dateTime.iso8601>}, {@code <struct>} and {@code <array><data>}.
 *
 * <p>Values in Java: {@link String} (also for untyped numbers, as rpclib reads them), {@link Long}
 * (written untyped), {@link Boolean}, {@link Double}, {@link DateTime}, {@link Map} (struct,
 * insertion order kept), {@link List} (array) and {@code null} (nil).
 *
 * <p>Reading refuses any DTD and external entity (no entity is ever resolved) and documents over
 * {@link #MAX_BYTES}.
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

  /** Parses one top-level {@code <value>}. */
  public static Object parse(byte[] xml) throws XvaException {
    if (xml.length > MAX_BYTES) {
      throw new XvaException("ova.xml: " + xml.length + " bytes is over the limit of " + MAX_BYTES);
    }
    Document doc;
    try {
      doc = builder().parse(new ByteArrayInputStream(xml));
    } catch (SAXException e) {
      throw new XvaException("ova.xml: not well-formed or not allowed: " + e.getMessage(), e);
    } catch (IOException | ParserConfigurationException e) {
      throw new XvaException("ova.xml: " + e.getMessage(), e);
    }
    Element root = doc.getDocumentElement();
    if (!root.getTagName().equals("value")) {
      throw new XvaException(
          "ova.xml: root element is <"
              + root.getTagName()
              + ">, expected <value>"
              + (root.getTagName().equals("appliance")
                  ? " (a version 1 'Zurich' XVA, which xapi no longer imports either)"
                  : ""));
    }
    return read(root);
  }

  private static DocumentBuilder builder() throws ParserConfigurationException {
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    f.setFeature("http://xml.org/sax/features/external-general-entities", false);
    f.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
    f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
    f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
    f.setAttribute(XMLConstants.ACCESS_EXTERNAL_DTD, "");
    f.setAttribute(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "");
    f.setXIncludeAware(false);
    f.setExpandEntityReferences(false);
    f.setNamespaceAware(false);
    DocumentBuilder b = f.newDocumentBuilder();
    b.setErrorHandler(null);
    return b;
  }

  private static Object read(Element value) throws XvaException {
    Element child = firstElement(value);
    if (child == null) {
      return value.getTextContent();
    }
    String text = child.getTextContent().trim();
    switch (child.getTagName()) {
      case "string":
        return child.getTextContent();
      case "int":
      case "i4":
      case "i8":
        return text;
      case "boolean":
        // rpclib: only "1" is true; "true" reads as false.
        return text.equals("1");
      case "double":
        try {
          return Double.parseDouble(text);
        } catch (NumberFormatException e) {
          throw new XvaException("ova.xml: bad <double> '" + text + "'");
        }
      case "dateTime.iso8601":
        return new DateTime(text);
      case "nil":
        return null;
      case "struct":
        Map<String, Object> m = new LinkedHashMap<>();
        for (Element member = firstElement(child); member != null; member = nextElement(member)) {
          Element name = firstElement(member);
          Element v = name == null ? null : nextElement(name);
          if (name == null || !name.getTagName().equals("name") || v == null) {
            throw new XvaException("ova.xml: <member> without <name> and <value>");
          }
          m.put(name.getTextContent(), read(v));
        }
        return m;
      case "array":
        List<Object> l = new ArrayList<>();
        Element data = firstElement(child);
        if (data != null) {
          for (Element v = firstElement(data); v != null; v = nextElement(v)) {
            l.add(read(v));
          }
        }
        return l;
      default:
        throw new XvaException("ova.xml: unknown XML-RPC type <" + child.getTagName() + ">");
    }
  }

  private static Element firstElement(Node n) {
    for (Node c = n.getFirstChild(); c != null; c = c.getNextSibling()) {
      if (c instanceof Element e) {
        return e;
      }
    }
    return null;
  }

  private static Element nextElement(Node n) {
    for (Node c = n.getNextSibling(); c != null; c = c.getNextSibling()) {
      if (c instanceof Element e) {
        return e;
      }
    }
    return null;
  }
}
